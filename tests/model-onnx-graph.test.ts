import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { decodeModel, type NodeProto, onnx } from '../src/convert/onnx/proto-factory.js';
import { PRESETS } from '../src/convert/shape.js';
import { TINY_MODEL_FORMATS, tinyModelDir, type TinyModelFormat } from './helpers/models.js';

const tiny = PRESETS.tiny;
const layers = Array.from({ length: tiny.numHiddenLayers }, (_, i) => i);
const kvDims = ['batch_size', tiny.numKeyValueHeads, 'past_sequence_length', tiny.headDim];
const presentDims = ['batch_size', tiny.numKeyValueHeads, 'total_sequence_length', tiny.headDim];

function loadGraph(format: TinyModelFormat) {
  return decodeModel(readFileSync(join(tinyModelDir(format), 'model.onnx'))).graph!;
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
  it('declares exactly the genai decoder inputs and outputs with their dtypes and dims', async () => {
    const session = await ort.InferenceSession.create(join(tinyModelDir(format), 'model.onnx'));
    try {
      expect(session.inputMetadata).toEqual([
        { name: 'input_ids', isTensor: true, type: 'int64', shape: ['batch_size', 'sequence_length'] },
        { name: 'attention_mask', isTensor: true, type: 'int64', shape: ['batch_size', 'total_sequence_length'] },
        ...layers.flatMap((i) => [
          { name: `past_key_values.${i}.key`, isTensor: true, type: 'float32', shape: kvDims },
          { name: `past_key_values.${i}.value`, isTensor: true, type: 'float32', shape: kvDims },
        ]),
      ]);
      expect(session.outputMetadata).toEqual([
        { name: 'logits', isTensor: true, type: 'float32', shape: ['batch_size', 'sequence_length', tiny.vocabSize] },
        ...layers.flatMap((i) => [
          { name: `present.${i}.key`, isTensor: true, type: 'float32', shape: presentDims },
          { name: `present.${i}.value`, isTensor: true, type: 'float32', shape: presentDims },
        ]),
      ]);
    } finally {
      await session.release();
    }
  });

  it('runs attention as GroupQueryAttention with fused rotary over mask-derived lengths shared by all layers', () => {
    const graph = loadGraph(format);
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
    const matmuls = g.node!.filter((n) => n.opType === 'MatMulNBits');
    // q, k, v, o, gate, up, down per layer, plus the LM head.
    expect(matmuls).toHaveLength(7 * tiny.numHiddenLayers + 1);
    for (const node of matmuls) {
      expect(node.domain).toBe('com.microsoft');
      expect(attributes(node)).toMatchObject({ bits, block_size: TINY_MODEL_FORMATS[format].blockSize, accuracy_level: 4 });
    }
    expect(g.node!.filter((n) => n.opType === 'MatMul')).toHaveLength(0);
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
    const matmuls = g.node!.filter((n) => n.opType === 'MatMul');
    expect(matmuls).toHaveLength(7 * tiny.numHiddenLayers + 1);
    const lmHead = matmuls.find((n) => n.output![0] === 'logits')!;
    const weight = g.initializer!.find((t) => t.name === lmHead.input![1])!;
    expect(weight.dims!.map(Number)).toEqual([tiny.hiddenSize, tiny.vocabSize]);
    const transpose = g.node!.find((n) => n.opType === 'Transpose')!;
    expect(transpose.input).toEqual([lmHead.input![1]]);
    expect(g.node!.find((n) => n.opType === 'Gather' && n.input![1] === 'input_ids')!.input![0]).toBe(transpose.output![0]);
  });
});
