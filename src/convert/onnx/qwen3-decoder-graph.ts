import type { Qwen3Shape } from '../shape.js';
import { EMBEDDING_WEIGHT, expectedWeightDims, FINAL_NORM_WEIGHT, LM_HEAD_WEIGHT, type WeightSource } from '../weights/weight-source.js';
import { assertBlockSize } from './block-quantizer.js';
import { addCacheReadAttention, addCacheReadInputs, addJoinedMask } from './cache-read-attention.js';
import { DecoderContext, type ProjectionKernel, type TensorProgress } from './decoder-context.js';
import { checkKvCache, DECODER_IO, DECODER_IO_TYPES, DIMS, type IoPrecision, type KvCache, type KvOutputs, layerName, resolveKvOutputs } from './decoder-io.js';
import { addDequantizedCacheAttention } from './dequantized-cache-attention.js';
import { addInt8CacheAttention, INT8_KEY_BLOCK } from './int8-cache-attention.js';
import { addGqaInputs, gqaAttention } from './gqa-attention.js';
import { GraphBuilder, MICROSOFT_DOMAIN } from './graph-builder.js';
import { bytesOf, type InitializerStore } from './initializer-store.js';
import { addMatMulNBits, addProjection, addQuantizedWeight, addTransposedWeight, type QuantizedWeightRef, type WeightFormat } from './projection.js';
import { DataType, type ModelProto, valueInfo } from './proto-factory.js';
import { type AttentionCore, addDecoderLayer, addResidualNorm, type ResidualStream } from './qwen3-layer.js';
import { buildRotaryCache } from './rotary-cache.js';

export type LogitPositions = 'all-positions' | 'last-position';
/**
 * 'integer': onnxruntime's integer GEMM on the codes (int8-cache-attention.ts), fastest for
 * decode steps; 'dequantized': the codes widened to float32 and read by MultiHeadAttention head by
 * head (dequantized-cache-attention.ts), fastest for prefill chunks over a long cache.
 */
export type Int8CacheAttention = 'integer' | 'dequantized';

export interface DecoderGraphOptions {
  format: WeightFormat;
  /** Element types of ids, KV cache and logits (default fp32: int64 ids, fp32 KV and logits). */
  ioPrecision?: IoPrecision;
  /** How the graph returns the KV it computes; default by precision (see resolveKvOutputs). */
  kvOutputs?: KvOutputs;
  /** How the graph holds the KV cache (default 'float': the io precision's type; see KvCache). */
  kvCache?: KvCache;
  /** How the decoder layers' linear layers compute (default 'weight-format'; see ProjectionKernel). */
  projections?: ProjectionKernel;
  /**
   * How an int8 cache is attended (see Int8CacheAttention): 'integer' (default) or 'dequantized',
   * for the prefill graph. Ignored with a float cache.
   */
  int8Attention?: Int8CacheAttention;
  /**
   * An int8 cache's keys in blocks of this many positions (default INT8_KEY_BLOCK; 0: transposed
   * whole, the layout of exports before blocks). Ignored with a float cache.
   */
  int8KeyBlock?: number;
  /**
   * Which positions get logits: 'all-positions' (default, the builder's [B, S, vocab]) or
   * 'last-position' ([B, 1, vocab]), for a graph that only runs prefill chunks, whose earlier
   * positions' logits nobody reads: the LM head is a tenth of a 4B model's weights.
   */
  logits?: LogitPositions;
  onProgress?: TensorProgress;
  /** Extra key/value pairs for the model's metadata_props. */
  metadata?: Record<string, string>;
}

/**
 * Builds the Qwen3 decoder in the onnxruntime-genai model-builder layout from a checkpoint, writing
 * each weight through `store` as soon as it is read. Inputs: input_ids, attention_mask,
 * past_key_values.N.key|value; outputs: logits and, by `kvOutputs`, present.N.key|value or
 * new_key_values.N.key|value (see DECODER_IO), typed by `ioPrecision`. Everything between
 * embedding and LM head computes in fp32 whatever the precision, except GroupQueryAttention,
 * which computes in the KV cache's type (see gqaAttention).
 */
export function buildQwen3DecoderGraph(source: WeightSource, store: InitializerStore, options: DecoderGraphOptions): ModelProto {
  const { shape } = source;
  const g = new GraphBuilder(store);
  const ctx = new DecoderContext(g, shape, options.format, source, expectedWeightDims(shape).size, options.onProgress, options.projections);
  checkWeightFormat(shape, options.format);
  const types = DECODER_IO_TYPES[options.ioPrecision ?? 'fp32'];

  // Gather and GatherBlockQuantized take int32 or int64 indices, so ids of either width feed the embedding directly.
  const inputIds = g.input(valueInfo(DECODER_IO.inputIds, types.inputIds, [DIMS.batch, DIMS.sequence]));
  const attentionMask = g.input(valueInfo(DECODER_IO.attentionMask, DataType.INT64, [DIMS.batch, DIMS.total]));
  checkKvCache(options.kvCache, options.ioPrecision ?? 'fp32', options.kvOutputs);
  const int8Cache = options.kvCache === 'int8';
  const keyBlock = int8Cache ? checkKeyBlock(options.int8KeyBlock ?? INT8_KEY_BLOCK) : 0;
  const planes = cachePlanes(shape, types.kv, int8Cache, keyBlock);
  const past = Array.from({ length: shape.numHiddenLayers }, (_, layer) =>
    planes.map(({ pastPattern, type, width, transposed, block }) => {
      const kvHeads = shape.numKeyValueHeads;
      const dims = !transposed ? [DIMS.batch, kvHeads, DIMS.past, width] : block ? [DIMS.batch, kvHeads, DIMS.pastBlocks, width, block] : [DIMS.batch, kvHeads, width, DIMS.past];
      return g.input(valueInfo(layerName(pastPattern, layer), type, dims));
    }),
  );

  const kvOutputs = resolveKvOutputs(options.ioPrecision ?? 'fp32', options.kvOutputs);
  const { embedded, tiedLmHead } = addEmbedding(ctx, inputIds); // [B, S, hidden]
  const rotary = addRotaryCaches(g, shape.headDim, shape.ropeTheta, shape.maxPositionEmbeddings, types.kv);
  const pastKv = past.map(([key, value]) => ({ key, value }));
  // The cache length P is dim 2 of a [B, kvHeads, P, width] input: the keys, or an int8 cache's values (its keys are transposed).
  const cacheInputs = () => addCacheReadInputs(g, shape, { attentionMask, inputIds, pastCache0: past[0][int8Cache ? 1 : 0], ...rotary });
  const attend: AttentionCore =
    kvOutputs === 'present'
      ? gqaAttention(g, shape, addGqaInputs(g, attentionMask, rotary, types.kv), pastKv)
      : int8Cache
        ? int8CacheAttention(g, shape, cacheInputs(), past, planes, options.int8Attention ?? 'integer', keyBlock)
        : cacheReadAttention(g, shape, cacheInputs(), pastKv);

  let stream: ResidualStream = { residual: embedded, pending: null };
  for (let layer = 0; layer < shape.numHiddenLayers; layer++) {
    stream = addDecoderLayer(ctx, layer, stream, attend);
  }
  const final = addResidualNorm(ctx, '/model/norm', stream, FINAL_NORM_WEIGHT);
  const lastOnly = options.logits === 'last-position';
  const lmHeadInput = lastOnly ? g.op('Slice', '/model/norm/last_position', [final.normed, g.int64([-1]), g.int64([Number.MAX_SAFE_INTEGER]), g.int64([1])]) : final.normed;
  addLmHead(ctx, lmHeadInput, tiedLmHead, types.logits);

  g.output(valueInfo(DECODER_IO.logits, types.logits, [DIMS.batch, lastOnly ? 1 : DIMS.sequence, shape.vocabSize]));
  const positions = kvOutputs === 'present' ? DIMS.total : DIMS.sequence;
  for (let layer = 0; layer < shape.numHiddenLayers; layer++) {
    for (const { presentPattern, newPattern, type, width, transposed } of planes) {
      const dims = transposed ? [DIMS.batch, shape.numKeyValueHeads, width, positions] : [DIMS.batch, shape.numKeyValueHeads, positions, width];
      g.output(valueInfo(layerName(kvOutputs === 'present' ? presentPattern : newPattern, layer), type, dims));
    }
  }
  return g.toModel('qwen3', options.metadata ?? {});
}

/** Throws a RangeError when the shape cannot be written in the format; callers check before writing anything. */
export function checkWeightFormat(shape: Qwen3Shape, format: WeightFormat): void {
  const { bits, blockSize } = format;
  if (bits === 32) return;
  assertBlockSize(blockSize);
  // GatherBlockQuantized reads the LM head's packed rows as [vocab, hidden * bits / 8]: the rows
  // must hold no padding, so hidden must fill whole blocks.
  if (shape.hiddenSize % blockSize !== 0) {
    throw new RangeError(`hidden size ${shape.hiddenSize} must be a multiple of the block size ${blockSize} for quantized embeddings`);
  }
}

/**
 * The embedding lookup. Tied embeddings are stored once, in the LM head's format:
 * - int4/int8: GatherBlockQuantized reads the LM head's MatMulNBits weight (its uint8 codes viewed
 *   as [vocab, hidden * bits / 8]) and scales. The table is the largest single weight (389M values
 *   for Qwen3-4B), so sharing keeps the 4B int4 export near 2.3 GB instead of adding 0.8 GB of fp16
 *   (or 1.6 GB of fp32) embedding; onnxruntime-node 1.30's CPU kernel runs this for bits 4 and 8.
 * - fp32: the LM head MatMul weight [hidden, vocab] transposed back for a plain Gather, as the
 *   model builder does (onnxruntime folds the Transpose of a constant once, at session load).
 * Untied checkpoints get their own embedding table in the same format.
 */
function addEmbedding(ctx: DecoderContext, inputIds: string): { embedded: string; tiedLmHead: QuantizedWeightRef | string | null } {
  const { g, shape, format } = ctx;
  const path = '/model/embed_tokens';
  const tablePath = shape.tieWordEmbeddings ? '/lm_head' : path;
  if (format.bits === 32) {
    if (!shape.tieWordEmbeddings) {
      const table = ctx.withWeight(EMBEDDING_WEIGHT, (w) => g.initializer(EMBEDDING_WEIGHT, DataType.FLOAT, w.dims, bytesOf(w.data)));
      return { embedded: g.op('Gather', `${path}/Gather`, [table, inputIds]), tiedLmHead: null };
    }
    const lmHeadWeight = ctx.withWeight(EMBEDDING_WEIGHT, (w) => addTransposedWeight(g, tablePath, w)); // [hidden, vocab]
    const table = g.op('Transpose', `${path}/Transpose`, [lmHeadWeight], { perm: [1, 0] }); // [vocab, hidden]
    return { embedded: g.op('Gather', `${path}/Gather`, [table, inputIds]), tiedLmHead: lmHeadWeight };
  }
  const { bits, blockSize } = format;
  const quantized = ctx.withWeight(EMBEDDING_WEIGHT, (w) => addQuantizedWeight(g, tablePath, w, bits, blockSize));
  const rows = g.op('Reshape', `${path}/Reshape`, [quantized.packed, g.int64([shape.vocabSize, (shape.hiddenSize * bits) / 8])]); // [vocab, hidden * bits / 8] uint8
  const embedded = g.op('GatherBlockQuantized', `${path}/GatherBlockQuantized`, [rows, inputIds, quantized.scales], { bits, block_size: blockSize, gather_axis: 0, quantize_axis: 1 }, MICROSOFT_DOMAIN);
  return { embedded, tiedLmHead: shape.tieWordEmbeddings ? quantized : null };
}

/**
 * logits [B, S, vocab] = x @ E^T, through the tied weight stored by addEmbedding or lm_head.weight,
 * computed in fp32 and narrowed by a final Cast when the graph's logits are fp16.
 */
function addLmHead(ctx: DecoderContext, x: string, tied: QuantizedWeightRef | string | null, logitsType: DataType): void {
  const { g, format } = ctx;
  const narrowed = logitsType !== DataType.FLOAT;
  const output = narrowed ? '/lm_head/output_0' : DECODER_IO.logits;
  if (tied === null) {
    ctx.withWeight(LM_HEAD_WEIGHT, (w) => addProjection(g, '/lm_head', x, w, format, output));
  } else if (typeof tied === 'string') {
    g.node('MatMul', '/lm_head/MatMul', [x, tied], { outputs: [output] });
  } else {
    addMatMulNBits(g, '/lm_head', x, tied, output);
  }
  if (narrowed) g.node('Cast', '/lm_head/Cast', [output], { outputs: [DECODER_IO.logits], attributes: { to: logitsType } });
}

/**
 * The rotary cos/sin tables for every position up to the context length, shared by every layer, in
 * the KV cache's type (what GroupQueryAttention takes them in).
 */
function addRotaryCaches(g: GraphBuilder, headDim: number, ropeTheta: number, maxPositions: number, kvType: DataType): { cosCache: string; sinCache: string } {
  const rotary = buildRotaryCache(headDim, ropeTheta, maxPositions);
  const cacheDims = [rotary.maxPositions, rotary.halfDim];
  const cosCache = g.initializer('cos_cache', DataType.FLOAT, cacheDims, bytesOf(rotary.cos));
  const sinCache = g.initializer('sin_cache', DataType.FLOAT, cacheDims, bytesOf(rotary.sin));
  if (kvType === DataType.FLOAT) return { cosCache, sinCache };
  // The tables stay fp32 initializers (one estimate of the weight bytes for every precision);
  // onnxruntime folds these Casts of constants once, at session load.
  const narrow = (table: string) => g.op('Cast', `/model/rotary_emb/${table}/Cast`, [table], { to: kvType });
  return { cosCache: narrow(cosCache), sinCache: narrow(sinCache) };
}

/** One of a layer's cache tensors: its input and output names, element type and layout. */
interface CachePlane {
  pastPattern: string;
  presentPattern: string;
  newPattern: string;
  type: DataType;
  width: number;
  transposed?: boolean;
  /** Transposed keys in blocks of this many positions as past inputs (their new-position outputs stay [B, kvHeads, width, S]). */
  block?: number;
}

/**
 * A layer's cache tensors in the runner's plane order (KvPool's kvPlanes): key and value in the
 * io type, or for an int8 cache int8 keys (transposed: [B, kvHeads, headDim, positions], or in
 * blocks [B, kvHeads, blocks, headDim, keyBlock]), int8 values and their float32 scales.
 */
function cachePlanes(shape: Qwen3Shape, kvType: DataType, int8: boolean, keyBlock: number): CachePlane[] {
  const { headDim } = shape;
  const key = { pastPattern: DECODER_IO.pastKeyPattern, presentPattern: DECODER_IO.presentKeyPattern, newPattern: DECODER_IO.newKeyPattern };
  const value = { pastPattern: DECODER_IO.pastValuePattern, presentPattern: DECODER_IO.presentValuePattern, newPattern: DECODER_IO.newValuePattern };
  if (!int8) return [{ ...key, type: kvType, width: headDim }, { ...value, type: kvType, width: headDim }];
  // Scales only ever travel as new-position outputs: an int8 cache needs them (checkKvCache).
  return [
    { ...key, type: DataType.INT8, width: headDim, transposed: true, block: keyBlock },
    { ...value, type: DataType.INT8, width: headDim },
    { pastPattern: DECODER_IO.pastKeyScalePattern, presentPattern: '', newPattern: DECODER_IO.newKeyScalePattern, type: DataType.FLOAT, width: 1 },
    { pastPattern: DECODER_IO.pastValueScalePattern, presentPattern: '', newPattern: DECODER_IO.newValueScalePattern, type: DataType.FLOAT, width: 1 },
  ];
}

/** Throws a RangeError unless the key block is 0 or a whole number of positions a multiple of 64 (KvPool's capacity step). */
function checkKeyBlock(block: number): number {
  if (!Number.isInteger(block) || block < 0 || block % 64 !== 0) throw new RangeError(`int8KeyBlock must be 0 or a multiple of 64, got ${block}`);
  return block;
}

/** The int8 cache's attention core, writing each layer's new codes and scales as graph outputs. */
function int8CacheAttention(g: GraphBuilder, shape: Qwen3Shape, inputs: ReturnType<typeof addCacheReadInputs>, past: string[][], planes: CachePlane[], route: Int8CacheAttention, keyBlock: number): AttentionCore {
  const joinedMask = addJoinedMask(g, inputs);
  const attend = route === 'dequantized' ? addDequantizedCacheAttention : addInt8CacheAttention;
  return (layer, path, q, k, v) => {
    const [key, value, keyScale, valueScale] = past[layer];
    // The outputs the graph declares for the same planes (key, value, key scale, value scale).
    const [newKey, newValue, newKeyScale, newValueScale] = planes.map((plane) => layerName(plane.newPattern, layer));
    return attend(g, shape, path, inputs, joinedMask, {
      q,
      k,
      v,
      past: { key, value, keyScale, valueScale },
      keyBlock,
      outputs: { key: newKey, value: newValue, keyScale: newKeyScale, valueScale: newValueScale },
    });
  };
}

/** The cache-read attention core, writing each layer's new keys and values as graph outputs. */
function cacheReadAttention(g: GraphBuilder, shape: Qwen3Shape, inputs: ReturnType<typeof addCacheReadInputs>, past: { key: string; value: string }[]): AttentionCore {
  return (layer, path, q, k, v) =>
    addCacheReadAttention(g, shape, path, inputs, {
      q,
      k,
      v,
      pastKey: past[layer].key,
      pastValue: past[layer].value,
      newKeyName: layerName(DECODER_IO.newKeyPattern, layer),
      newValueName: layerName(DECODER_IO.newValuePattern, layer),
    });
}
