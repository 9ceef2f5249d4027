import type { Qwen3Shape } from '../shape.js';
import { addAttentionOperands, addJoinedSoftmax, addTokenMajor, type CacheReadInputs } from './cache-read-attention.js';
import type { GraphBuilder } from './graph-builder.js';
import { MICROSOFT_DOMAIN } from './graph-builder.js';
import { DataType } from './proto-factory.js';
import { addSymmetricRowCodes } from './row-int8-projection.js';

/**
 * Attention over an 8-bit KV cache, read by onnxruntime's integer GEMM (MatMulIntegerToFloat, the
 * u8 x s8 kernel with AVX2, VNNI and AMX variants) instead of being widened to float first.
 *
 * Why: a decode step reads every cached position of every layer; in float32 that is 4 bytes an
 * element (a 2048-token qwen3-4b row: 604 MB a step, 60 ms of a 180 ms step on a 2-core EPYC),
 * and widening int8 or fp16 codes back to float32 before the products costs more than reading
 * float32 (loadtest/attention-kernel-probe.ts). The integer products read one byte an element.
 *
 * The cache (one scale per position and KV head, symmetric, as llama.cpp's q8_0 cache has one per
 * 32 values), all four as graph inputs and the step's part as outputs:
 * - keys: int8 codes round(k / s) with s = max|k| / 127 over the head's values, stored transposed
 *   in blocks of INT8_KEY_BLOCK positions, [B, kvHeads, P / 256, headDim, 256]: the right-hand (s8)
 *   matrices of q k^T, so the product runs with the few query rows as its left-hand matrix and
 *   every cached position as a column. Blocks, not one [headDim, P] matrix per head, because the
 *   GEMM then reads each block's codes as one contiguous run instead of headDim rows P bytes apart:
 *   the score product at 8 rows x 8192 positions took 7.0 instead of 11.1 ms a layer on a 2-core
 *   Zen 3 (loadtest/key-layout-probe.ts). Exports before blocks ([B, kvHeads, headDim, P], block 0)
 *   are still read;
 * - values: int8 codes [B, kvHeads, P, headDim], the right-hand matrix of p v;
 * - scales: float32 [B, kvHeads, P, 1] each.
 *
 * The arithmetic, chosen so no int16 pair sum can saturate on AVX2 without VNNI (vpmaddubsw adds
 * two u8 x s8 products in int16; see row-int8-projection.ts):
 * - scores: each query row (one query head at one position) is quantized to 7-bit codes held as
 *   uint8 with zero point 64 (at most 127: 127 x 127 x 2 < 32767); the integer dot products with
 *   the key codes are exact, then times the key's scale (inside the product: its per-column scale)
 *   and the row's scale times 1/sqrt(headDim). A key of the current step goes through the same
 *   operators as a cached one, so a score does not depend on whether its key came from the cache or
 *   the step (chunk boundaries and reused prefixes see the same numbers).
 * - values: each probability times its value's scale, w, is coded per row on 14 bits,
 *   x = w * 16383 / max(w), as two uint8 codes, hi = floor(x / 128) and lo = floor(x mod 128) (both
 *   at most 127; addProbabilityCodes). One code of 7 bits would drop the many small probabilities
 *   beside an attention sink (0.5 / 1000 is under half a step of 0.5 / 127). Both code rows go through one
 *   product with the value codes; the result is (128 sum_hi + sum_lo) * max(w) / 16383.
 *
 * The step's own keys and values are quantized first and attended in that form, so every position
 * is always seen as the cache holds it.
 */

/** Positions per block of an int8 cache's keys in new exports (see above; 0 would store them as one block). */
export const INT8_KEY_BLOCK = 256;

/** Code range of cached keys and values (symmetric int8). */
const KV_CODE_MAX = 127;
/** Query rows: 7-bit codes around a uint8 zero point of 64, so no u8 x s8 pair sum exceeds int16. */
const QUERY_CODE_MAX = 63;
const QUERY_ZERO_POINT = 64;
/** Probability rows: 14 bits as hi * 128 + lo. */
const WEIGHT_CODE_MAX = 16383;
const LO_RANGE = 128;

export interface Int8CacheTensors {
  q: string;
  k: string;
  v: string;
  past: { key: string; value: string; keyScale: string; valueScale: string };
  /** Positions per block of past.key, [B, kvHeads, P / N, headDim, N]; 0: [B, kvHeads, headDim, P]. */
  keyBlock: number;
  /** Graph output names for the step's new positions. */
  outputs: { key: string; value: string; keyScale: string; valueScale: string };
}

/** The step's keys and values quantized as the cache holds them, written as the graph's new-position outputs. */
export interface Int8StepCodes {
  /** Rounded key codes as float32, [B, kvHeads, S, headDim], and their scales [B, kvHeads, S, 1]. */
  keyCodes: string;
  keyScales: string;
  valueCodes: string;
  valueScales: string;
  /** The int8 outputs: keys transposed [B, kvHeads, headDim, S], values [B, kvHeads, S, headDim]. */
  newKeyCodes: string;
  newValueCodes: string;
}

/** Quantizes the step's rotated keys and values (heads first) and names them as the cache outputs. */
export function addInt8CacheOutputs(g: GraphBuilder, path: string, newKey: string, newValue: string, outputs: Int8CacheTensors['outputs']): Int8StepCodes {
  const key = addSymmetricRowCodes(g, `${path}/new_key/quantize`, newKey, KV_CODE_MAX, outputs.keyScale);
  const newKeyCodes = g.node('Transpose', `${path}/new_key/Transpose_codes`, [g.op('Cast', `${path}/new_key/Cast`, [key.codes], { to: DataType.INT8 })], {
    outputs: [outputs.key],
    attributes: { perm: [0, 1, 3, 2] },
  })[0];
  const value = addSymmetricRowCodes(g, `${path}/new_value/quantize`, newValue, KV_CODE_MAX, outputs.valueScale);
  const newValueCodes = g.node('Cast', `${path}/new_value/Cast`, [value.codes], { outputs: [outputs.value], attributes: { to: DataType.INT8 } })[0];
  return { keyCodes: key.codes, keyScales: key.scales, valueCodes: value.codes, valueScales: value.scales, newKeyCodes, newValueCodes };
}

/**
 * One layer's attention over the int8 cache; q, k, v as addCacheReadAttention takes them and the
 * joined mask of addJoinedMask. Returns [B, S, heads * headDim].
 */
export function addInt8CacheAttention(g: GraphBuilder, shape: Qwen3Shape, path: string, inputs: CacheReadInputs, joinedMask: string, tensors: Int8CacheTensors): string {
  const { qGrouped, newKey, newValue } = addAttentionOperands(g, shape, path, inputs, tensors);
  const step = addInt8CacheOutputs(g, path, newKey, newValue, tensors.outputs);

  // Scores [B, kvHeads, groups * S, S + P], new positions first.
  const query = addSymmetricRowCodes(g, `${path}/q/quantize`, qGrouped, QUERY_CODE_MAX);
  const queryCodes = g.op('Cast', `${path}/q/Cast`, [g.op('Add', `${path}/q/offset`, [query.codes, g.float32(QUERY_ZERO_POINT)])], { to: DataType.UINT8 });
  const queryFactor = g.op('Mul', `${path}/q/factor`, [query.scales, g.float32(1 / Math.sqrt(shape.headDim))]); // [B, kvHeads, groups * S, 1]
  const asRow = (scales: string, name: string) => g.op('Reshape', `${path}/${name}`, [scales, g.int64([0, 0, 1, -1])]); // [B, kvHeads, 1, N]
  // The key scales are the products' per-column scales: the same multiply for cached and new keys.
  const products = (query: string, keys: string, keyScales: string, name: string) =>
    g.node('MatMulIntegerToFloat', `${path}/${name}/MatMulIntegerToFloat`, [query, keys, g.float32(1), keyScales, g.uint8(QUERY_ZERO_POINT)], { domain: MICROSOFT_DOMAIN })[0];
  const newScores = products(queryCodes, step.newKeyCodes, asRow(step.keyScales, 'new_key_scales'), 'new_scores');
  const rawScores = g.op('Concat', `${path}/scores/raw`, [newScores, addPastScores(g, path, queryCodes, tensors, products)], { axis: -1 });
  const joinedScales = (newScales: string, pastScales: string, name: string) =>
    g.op('Concat', `${path}/${name}`, [asRow(newScales, `${name}/new`), asRow(pastScales, `${name}/past`)], { axis: -1 }); // [B, kvHeads, 1, S + P]
  const scores = g.op('Add', `${path}/scores/mask`, [g.op('Mul', `${path}/scores/query_scale`, [rawScores, queryFactor]), joinedMask]);
  const probs = g.op('Softmax', `${path}/Softmax`, [scores], { axis: -1 });

  // Probabilities times their values' scales, coded on 14 bits per row.
  const weights = g.op('Mul', `${path}/weights`, [probs, joinedScales(step.valueScales, tensors.past.valueScale, 'value_scales')]);
  const rowMax = g.op('Max', `${path}/weights/max`, [g.op('ReduceMax', `${path}/weights/ReduceMax`, [weights], { axes: [-1], keepdims: 1 }), g.float32(1.1754943508222875e-38)]);
  const factor = g.op('Div', `${path}/weights/factor`, [g.float32(WEIGHT_CODE_MAX), rowMax]); // [B, kvHeads, groups * S, 1]
  const codes = addProbabilityCodes(g, `${path}/weights`, weights, factor); // [B, kvHeads, 2 * groups * S, S + P]
  const [newCodes, pastCodes] = g.node('Split', `${path}/weights/Split`, [codes, inputs.splitSizes], { outputs: 2, attributes: { axis: -1 } });
  const valueProducts = (a: string, values: string, name: string) =>
    g.node('MatMulIntegerToFloat', `${path}/${name}/MatMulIntegerToFloat`, [a, values, g.float32(1), g.float32(1)], { domain: MICROSOFT_DOMAIN })[0];
  const sums = g.op('Add', `${path}/value_sums`, [valueProducts(pastCodes, tensors.past.value, 'past_values'), valueProducts(newCodes, step.newValueCodes, 'new_values')]); // [B, kvHeads, 2 * groups * S, headDim]
  const halves = g.op('Reshape', `${path}/value_sums/halves`, [sums, g.int64([0, 0, 2, -1])]); // [B, kvHeads, 2, groups * S * headDim]
  const weighted = g.op('Mul', `${path}/value_sums/Mul`, [halves, g.float32Tensor([LO_RANGE, 1], [2, 1])]);
  const combined = g.op('Reshape', `${path}/value_sums/combined`, [g.op('ReduceSum', `${path}/value_sums/ReduceSum`, [weighted, g.int64([2])], { keepdims: 0 }), g.int64([0, 0, -1, shape.headDim])]);
  const attended = g.op('Div', `${path}/attended`, [combined, factor]); // [B, kvHeads, groups * S, headDim]
  return addTokenMajor(g, shape, path, attended);
}

/**
 * The uint8 code rows [..., 2 * rows, N] of x = weights * factor, x in [0, 16383] ([..., rows, N]
 * float32, factor [..., rows, 1]): hi = floor(x / 128) first, then lo = floor(x mod 128). Computed
 * as y = weights * (factor / 128), hi = Floor(y), lo = (y - hi) * 128 cast (the cast truncates,
 * which is floor for values >= 0): the same bits as x's (scaling by 1/128 and y - floor(y) are
 * exact in float32). Each half is cast before they are joined, so the concatenation and the split
 * after it move bytes, not floats. Measured by loadtest/probability-code-probe.ts (2-core Zen 5,
 * 8 rows x 8192 positions): 2.7 ms a layer against 3.1 for floor(x / 128) and x - 128 hi joined as
 * float and cast, and 14 ms with onnxruntime's Mod for lo (fmod, element by element).
 */
export function addProbabilityCodes(g: GraphBuilder, path: string, weights: string, factor: string): string {
  const y = g.op('Mul', `${path}/scaled`, [weights, g.op('Mul', `${path}/factor_hi`, [factor, g.float32(1 / LO_RANGE)])]);
  const hi = g.op('Floor', `${path}/hi`, [y]);
  const lo = g.op('Mul', `${path}/lo`, [g.op('Sub', `${path}/lo/Sub`, [y, hi]), g.float32(LO_RANGE)]);
  const asCodes = (x: string, name: string) => g.op('Cast', `${path}/${name}/Cast`, [x], { to: DataType.UINT8 });
  return g.op('Concat', `${path}/codes`, [asCodes(hi, 'hi'), asCodes(lo, 'lo')], { axis: -2 });
}

/**
 * The scores of the cached keys, [B, kvHeads, groups * S, P], keys scaled. In blocks, the query
 * rows are broadcast over the blocks, [B, kvHeads, 1, rows, headDim] x [B, kvHeads, P / N, headDim, N]
 * -> [B, kvHeads, P / N, rows, N], and the blocks' columns brought back in position order.
 */
function addPastScores(
  g: GraphBuilder,
  path: string,
  queryCodes: string,
  tensors: Int8CacheTensors,
  products: (query: string, keys: string, keyScales: string, name: string) => string,
): string {
  const { key, keyScale } = tensors.past;
  const block = tensors.keyBlock;
  if (block === 0) return products(queryCodes, key, g.op('Reshape', `${path}/past_key_scales`, [keyScale, g.int64([0, 0, 1, -1])]), 'past_scores');
  const query = g.op('Unsqueeze', `${path}/q/blocks`, [queryCodes, g.int64([2])]);
  const scales = g.op('Reshape', `${path}/past_key_scales`, [keyScale, g.int64([0, 0, -1, 1, block])]); // [B, kvHeads, P / N, 1, N]
  const blocked = products(query, key, scales, 'past_scores');
  const rowsFirst = g.op('Transpose', `${path}/past_scores/Transpose`, [blocked], { perm: [0, 1, 3, 2, 4] }); // [B, kvHeads, rows, P / N, N]
  return g.op('Reshape', `${path}/past_scores/Reshape`, [rowsFirst, g.int64([0, 0, 0, -1])]);
}
