import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportQwen3Model } from '../src/convert/export/export-model.js';
import { decodeModel, type GraphProto, type NodeProto, onnx } from '../src/convert/onnx/proto-factory.js';
import { PRESETS } from '../src/convert/shape.js';
import { TINY_MODEL_FORMATS, tinyModelDir, tinyModelWeights, type TinyModelFormat } from './helpers/models.js';

const tiny = PRESETS.tiny;
const layers = Array.from({ length: tiny.numHiddenLayers }, (_, i) => i);
const kvDims = ['batch_size', tiny.numKeyValueHeads, 'past_sequence_length', tiny.headDim];
const presentDims = ['batch_size', tiny.numKeyValueHeads, 'total_sequence_length', tiny.headDim];
const newPositionDims = ['batch_size', tiny.numKeyValueHeads, 'sequence_length', tiny.headDim];

function loadGraph(format: TinyModelFormat) {
  return decodeModel(readFileSync(join(tinyModelDir(format), 'model.onnx'))).graph!;
}

/** MatMul and MatMulNBits nodes that multiply by a stored weight (not attention's activation products). */
function weightProducts(graph: GraphProto, opType: string): NodeProto[] {
  const initializers = new Set(graph.initializer!.map((t) => t.name));
  return graph.node!.filter((n) => n.opType === opType && initializers.has(n.input![1]));
}

const expectedInputs = [
  { name: 'input_ids', isTensor: true, type: 'int64', shape: ['batch_size', 'sequence_length'] },
  { name: 'attention_mask', isTensor: true, type: 'int64', shape: ['batch_size', 'total_sequence_length'] },
  ...layers.flatMap((i) => [
    { name: `past_key_values.${i}.key`, isTensor: true, type: 'float32', shape: kvDims },
    { name: `past_key_values.${i}.value`, isTensor: true, type: 'float32', shape: kvDims },
  ]),
];

/** The graph's metadata against the genai decoder contract, with the KV outputs `prefix.N.*` of dims `dims`. */
async function expectDecoderIo(modelPath: string, prefix: string, dims: (string | number)[]): Promise<void> {
  const session = await ort.InferenceSession.create(modelPath);
  try {
    expect(session.inputMetadata).toEqual(expectedInputs);
    expect(session.outputMetadata).toEqual([
      { name: 'logits', isTensor: true, type: 'float32', shape: ['batch_size', 'sequence_length', tiny.vocabSize] },
      ...layers.flatMap((i) => [
        { name: `${prefix}.${i}.key`, isTensor: true, type: 'float32', shape: dims },
        { name: `${prefix}.${i}.value`, isTensor: true, type: 'float32', shape: dims },
      ]),
    ]);
  } finally {
    await session.release();
  }
}

/** A node's attributes as plain values (ints as numbers, floats as numbers, strings decoded). */
function attributes(node: NodeProto): Record<string, unknown> {
  const { AttributeType } = onnx.AttributeProto;
  return Object.fromEntries(
    (node.attribute ?? []).map((a) => {
      if (a.type === AttributeType.INT) return [a.name, Number(a.i)];
      if (a.type === AttributeType.FLOAT) return [a.name, a.f];
      if (a.type === AttributeType.INTS) return [a.name, (a.ints ?? []).map(Number)];
      return [a.name, new TextDecoder().decode(a.s!)];
    }),
  );
}

describe.each(Object.keys(TINY_MODEL_FORMATS) as TinyModelFormat[])('tiny %s graph', (format) => {
  /** The same weights written with `present` outputs (the model builder's GroupQueryAttention layout). */
  let presentDir: string;
  beforeAll(() => {
    presentDir = mkdtempSync(join(tmpdir(), 'graph-present-'));
    exportQwen3Model(tinyModelWeights(), presentDir, { format: TINY_MODEL_FORMATS[format], kvOutputs: 'present', quiet: true });
  });
  afterAll(() => rmSync(presentDir, { recursive: true, force: true }));

  it('declares the genai decoder inputs, and outputs logits plus the new positions\' keys and values', async () => {
    await expectDecoderIo(join(tinyModelDir(format), 'model.onnx'), 'new_key_values', newPositionDims);
  });

  it('reads the cache as an input: rotary on q and k from mask-derived positions, cached and new positions scored apart', () => {
    const graph = loadGraph(format);
    expect(graph.node!.filter((n) => n.opType === 'GroupQueryAttention')).toHaveLength(0);
    const rotary = graph.node!.filter((n) => n.opType === 'RotaryEmbedding');
    expect(rotary).toHaveLength(2 * tiny.numHiddenLayers);
    for (const node of rotary) {
      expect(node.domain).toBe('com.microsoft');
      expect(attributes(node).interleaved).toBe(0);
      expect(node.input!.slice(1)).toEqual(rotary[0].input!.slice(1)); // positions and caches shared
    }
    for (const layer of layers) {
      const readers = (input: string) => graph.node!.filter((n) => n.input!.includes(input));
      const [keyReader] = readers(`past_key_values.${layer}.key`).filter((n) => n.opType === 'FusedMatMul');
      expect(attributes(keyReader)).toMatchObject({ transA: 0, transB: 1 });
      expect(attributes(keyReader).alpha).toBeCloseTo(1 / Math.sqrt(tiny.headDim), 6);
      expect(readers(`past_key_values.${layer}.value`).map((n) => n.opType)).toEqual(['MatMul']);
      // The cache is never copied into a longer tensor.
      expect(readers(`past_key_values.${layer}.key`).map((n) => n.opType)).not.toContain('Concat');
      const producer = (output: string) => graph.node!.find((n) => n.output!.includes(output))!;
      expect(producer(`new_key_values.${layer}.key`).opType).toBe('Transpose');
      expect(producer(`new_key_values.${layer}.value`).opType).toBe('Transpose');
    }
  });

  it('with present outputs, runs attention as GroupQueryAttention with fused rotary over mask-derived lengths shared by all layers', async () => {
    await expectDecoderIo(join(presentDir, 'model.onnx'), 'present', presentDims);
    const graph = decodeModel(readFileSync(join(presentDir, 'model.onnx'))).graph!;
    const gqa = graph.node!.filter((n) => n.opType === 'GroupQueryAttention');
    expect(gqa).toHaveLength(tiny.numHiddenLayers);
    for (const [layer, node] of gqa.entries()) {
      expect(node.domain).toBe('com.microsoft');
      const attrs = attributes(node);
      expect(attrs).toMatchObject({ num_heads: tiny.numAttentionHeads, kv_num_heads: tiny.numKeyValueHeads, do_rotary: 1, rotary_interleaved: 0, local_window_size: -1 });
      expect(attrs.scale).toBeCloseTo(1 / Math.sqrt(tiny.headDim), 6);
      const inputs = node.input!;
      expect(inputs.slice(3, 5)).toEqual([`past_key_values.${layer}.key`, `past_key_values.${layer}.value`]);
      expect(node.output!.slice(1)).toEqual([`present.${layer}.key`, `present.${layer}.value`]);
      // seqlens_k, total_sequence_length, cos/sin caches: the same values for every layer.
      expect(inputs.slice(5, 9)).toEqual(gqa[0].input!.slice(5, 9));
    }
    const producer = (output: string) => graph.node!.find((n) => n.output!.includes(output))!;
    const [seqlensK, totalLength, cosCache] = gqa[0].input!.slice(5, 8);
    expect(producer(seqlensK).opType).toBe('Cast');
    expect(attributes(producer(seqlensK)).to).toBe(onnx.TensorProto.DataType.INT32);
    expect(producer(producer(seqlensK).input![0]).opType).toBe('Sub');
    expect(producer(producer(producer(seqlensK).input![0]).input![0]).opType).toBe('ReduceSum');
    expect(producer(producer(totalLength).input![0]).opType).toBe('Gather');
    const cos = graph.initializer!.find((t) => t.name === cosCache)!;
    expect(cos.dims!.map(Number)).toEqual([tiny.maxPositionEmbeddings, tiny.headDim / 2]);
  });

  it('normalizes with (Skip)SimplifiedLayerNormalization, including per-head q/k norms', () => {
    const ops = loadGraph(format).node!.map((n) => `${n.domain || 'ai.onnx'}::${n.opType}`);
    const count = (op: string) => ops.filter((o) => o === op).length;
    // Layer 0's input norm has no skip; every later norm (2 per layer + final) adds a residual.
    expect(count('ai.onnx::SimplifiedLayerNormalization')).toBe(1 + 2 * tiny.numHiddenLayers);
    expect(count('com.microsoft::SkipSimplifiedLayerNormalization')).toBe(2 * tiny.numHiddenLayers);
    expect(ops).not.toContain('ai.onnx::LayerNormalization');
  });
});

describe.each([
  ['int4', 4],
  ['int8', 8],
] as const)('tiny %s projections', (format, bits) => {
  it('are MatMulNBits with accuracy_level 4, and the tied embedding reads the LM head weight', () => {
    const g = loadGraph(format);
    const matmuls = weightProducts(g, 'MatMulNBits');
    // q, k, v, o, gate, up, down per layer, plus the LM head.
    expect(matmuls).toHaveLength(7 * tiny.numHiddenLayers + 1);
    for (const node of matmuls) {
      expect(node.domain).toBe('com.microsoft');
      expect(attributes(node)).toMatchObject({ bits, block_size: TINY_MODEL_FORMATS[format].blockSize, accuracy_level: 4 });
    }
    expect(weightProducts(g, 'MatMul')).toHaveLength(0);
    const lmHead = matmuls.find((n) => n.output![0] === 'logits')!;
    expect(attributes(lmHead)).toMatchObject({ K: tiny.hiddenSize, N: tiny.vocabSize });
    const gather = g.node!.find((n) => n.opType === 'GatherBlockQuantized')!;
    expect(attributes(gather)).toMatchObject({ bits, block_size: TINY_MODEL_FORMATS[format].blockSize, gather_axis: 0, quantize_axis: 1 });
    const reshape = g.node!.find((n) => n.output![0] === gather.input![0])!;
    expect(reshape.input![0]).toBe(lmHead.input![1]); // the same packed codes
    expect(gather.input![2]).toBe(lmHead.input![2]); // the same scales
    // Only one vocab-sized table is stored.
    const vocabTables = g.initializer!.filter((t) => Number(t.dims![0]) === tiny.vocabSize);
    expect(vocabTables.map((t) => t.name).sort()).toEqual([lmHead.input![1], lmHead.input![2]].sort());
  });
});

describe('tiny fp32 projections', () => {
  it('are plain MatMuls over [in, out] weights, with the embedding gathered from the LM head weight', () => {
    const g = loadGraph('fp32');
    expect(g.node!.filter((n) => n.opType === 'MatMulNBits')).toHaveLength(0);
    const matmuls = weightProducts(g, 'MatMul');
    expect(matmuls).toHaveLength(7 * tiny.numHiddenLayers + 1);
    const lmHead = matmuls.find((n) => n.output![0] === 'logits')!;
    const weight = g.initializer!.find((t) => t.name === lmHead.input![1])!;
    expect(weight.dims!.map(Number)).toEqual([tiny.hiddenSize, tiny.vocabSize]);
    const transpose = g.node!.find((n) => n.opType === 'Transpose')!;
    expect(transpose.input).toEqual([lmHead.input![1]]);
    expect(g.node!.find((n) => n.opType === 'Gather' && n.input![1] === 'input_ids')!.input![0]).toBe(transpose.output![0]);
  });
});
