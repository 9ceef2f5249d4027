import type { Qwen3Shape } from '../shape.js';
import { addAttentionOperands, addJoinedSoftmax, addTokenMajor, type CacheReadInputs } from './cache-read-attention.js';
import type { GraphBuilder } from './graph-builder.js';
import { MICROSOFT_DOMAIN } from './graph-builder.js';
import { DataType } from './proto-factory.js';
import { addSymmetricRowCodes } from './row-int8-projection.js';

/**
 * Attention over an 8-bit KV cache, read by onnxruntime's integer GEMM (MatMulIntegerToFloat, the
 * u8 x s8 kernel that has AVX2, VNNI and AMX variants) instead of being widened to float first.
 *
 * Why: a decode step reads every cached position of every layer; in float32 that is 4 bytes an
 * element (a 2048-token qwen3-4b row: 604 MB a step), and widening int8 or fp16 codes back to
 * float32 before the products costs more than reading float32 (loadtest/attention-kernel-probe.ts).
 * The integer products read one byte an element and run about twice as fast as the float ones.
 *
 * The cache (one scale per position and KV head, symmetric, as llama.cpp's q8_0 cache has one per
 * 32 values):
 * - keys: codes round(k / s) in [-127, 127] with s = max|k| / 127 over the head's 128 values,
 *   stored as uint8 code + 128, because keys are the GEMM's uint8 A operand (zero point 128);
 * - values: codes in [-127, 127] as int8, the s8 B operand of the second product;
 * - scales: float32 [B, kvHeads, P, 1] each.
 *
 * The arithmetic, chosen so no int16 pair sum can saturate on AVX2 without VNNI (vpmaddubsw sums
 * two u8 x s8 products in int16; see row-int8-projection.ts):
 * - scores: the query is quantized per row (one query head at one position) to 7-bit codes
 *   ([-63, 63]: 255 x 63 x 2 < 32767); key codes x query codes sum exactly in int32, then times the
 *   key's scale, the query row's scale and 1/sqrt(headDim). A cached key and a key of the current
 *   step go through the same operators, so a score does not depend on whether its key was in the
 *   cache or in the step (chunk boundaries and reused prefixes see the same numbers).
 * - values: each probability is multiplied by its value's scale, and the row is split into a coarse
 *   and a fine 7-bit code (hi = floor(w / step), lo = round((w - hi * step) / (step / 127)), step =
 *   row max / 127, both in [0, 127]: 127 x 127 x 2 < 32767): about 14 bits a probability, so the
 *   small probabilities of a row dominated by one position (an attention sink) still count. Both
 *   code rows go through one product with the value codes and are recombined in float.
 *
 * The new positions of the step are quantized first and attended in their quantized form, so every
 * position is seen as the cache will hold it. Outputs: the new positions' codes and scales, for the
 * runner to store.
 */

/** Code range of cached keys and values (symmetric int8). */
const KV_CODE_MAX = 127;
/** Code range of query rows: 7 bits, so u8 key codes x s8 query codes cannot saturate int16 pair sums. */
const QUERY_CODE_MAX = 63;
/** Code range of each of the two probability codes (uint8 A operand against 8-bit value codes). */
const PROBABILITY_CODE_MAX = 127;
const KEY_ZERO_POINT = 128;

export interface Int8CacheTensors {
  q: string;
  k: string;
  v: string;
  past: { key: string; value: string; keyScale: string; valueScale: string };
  /** Graph output names for the step's new positions. */
  outputs: { key: string; value: string; keyScale: string; valueScale: string };
}

/** One layer's attention over the int8 cache; the operands as addCacheReadAttention takes them. Returns [B, S, heads * headDim]. */
export function addInt8CacheAttention(g: GraphBuilder, shape: Qwen3Shape, path: string, inputs: CacheReadInputs, tensors: Int8CacheTensors): string {
  const { qGrouped, newKey, newValue } = addAttentionOperands(g, shape, path, inputs, tensors);

  // The step's keys and values, quantized as the cache holds them.
  const keyCodes = addSymmetricRowCodes(g, `${path}/new_key/quantize`, newKey, KV_CODE_MAX, tensors.outputs.keyScale);
  const newKeyCodes = g.node('Cast', `${path}/new_key/Cast`, [g.op('Add', `${path}/new_key/offset`, [keyCodes.codes, g.float32(KEY_ZERO_POINT)])], {
    outputs: [tensors.outputs.key],
    attributes: { to: DataType.UINT8 },
  })[0];
  const valueCodes = addSymmetricRowCodes(g, `${path}/new_value/quantize`, newValue, KV_CODE_MAX, tensors.outputs.valueScale);
  const newValueCodes = g.node('Cast', `${path}/new_value/Cast`, [valueCodes.codes], { outputs: [tensors.outputs.value], attributes: { to: DataType.INT8 } })[0];

  // Scores: keys (uint8 A) x query codes (int8 B, [B, kvHeads, headDim, groups * S]).
  const query = addSymmetricRowCodes(g, `${path}/q/quantize`, qGrouped, QUERY_CODE_MAX);
  const queryCodes = g.op('Transpose', `${path}/q/codes`, [g.op('Cast', `${path}/q/Cast`, [query.codes], { to: DataType.INT8 })], { perm: [0, 1, 3, 2] });
  const queryFactor = g.op('Mul', `${path}/q/factor`, [query.scales, g.float32(1 / Math.sqrt(shape.headDim))]); // [B, kvHeads, groups * S, 1]
  const score = (codes: string, scales: string, name: string) => {
    const products = g.node('MatMulIntegerToFloat', `${path}/${name}/MatMulIntegerToFloat`, [codes, queryCodes, g.float32(1), g.float32(1), g.uint8(KEY_ZERO_POINT)], { domain: MICROSOFT_DOMAIN })[0]; // [B, kvHeads, N, groups * S]
    const keyScaled = g.op('Mul', `${path}/${name}/key_scale`, [products, scales]);
    return g.op('Mul', `${path}/${name}/query_scale`, [g.op('Transpose', `${path}/${name}/Transpose`, [keyScaled], { perm: [0, 1, 3, 2] }), queryFactor]); // [B, kvHeads, groups * S, N]
  };
  const probs = addJoinedSoftmax(g, path, inputs, score(newKeyCodes, keyCodes.scales, 'new_scores'), score(tensors.past.key, tensors.past.keyScale, 'past_scores'));

  // Probabilities times each value's scale ([B, kvHeads, 1, S + P], new positions first as in probs).
  const asRow = (scales: string, name: string) => g.op('Reshape', `${path}/${name}`, [scales, g.int64([0, 0, 1, -1])]);
  const valueScales = g.op('Concat', `${path}/value_scales`, [asRow(valueCodes.scales, 'new_value_scales'), asRow(tensors.past.valueScale, 'past_value_scales')], { axis: -1 });
  const weights = g.op('Mul', `${path}/weights`, [probs, valueScales]);
  const step = g.op('Max', `${path}/weights/step`, [
    g.op('Div', `${path}/weights/step/Div`, [g.op('ReduceMax', `${path}/weights/ReduceMax`, [weights], { axes: [-1], keepdims: 1 }), g.float32(PROBABILITY_CODE_MAX)]),
    g.float32(1.1754943508222875e-38),
  ]); // [B, kvHeads, groups * S, 1]
  const fineStep = g.op('Div', `${path}/weights/fine_step`, [step, g.float32(PROBABILITY_CODE_MAX)]);
  const coarse = g.op('Floor', `${path}/weights/coarse`, [g.op('Div', `${path}/weights/coarse/Div`, [weights, step])]);
  const remainder = g.op('Relu', `${path}/weights/remainder`, [g.op('Sub', `${path}/weights/remainder/Sub`, [weights, g.op('Mul', `${path}/weights/coarse/Mul`, [coarse, step])])]);
  const fine = g.op('Round', `${path}/weights/fine`, [g.op('Div', `${path}/weights/fine/Div`, [remainder, fineStep])]);
  const codes = g.op('Cast', `${path}/weights/Cast`, [g.op('Concat', `${path}/weights/codes`, [coarse, fine], { axis: -2 })], { to: DataType.UINT8 }); // [B, kvHeads, 2 * groups * S, S + P]
  const [newCodes, pastCodes] = g.node('Split', `${path}/weights/Split`, [codes, inputs.splitSizes], { outputs: 2, attributes: { axis: -1 } });
  const product = (a: string, values: string, name: string) =>
    g.node('MatMulIntegerToFloat', `${path}/${name}/MatMulIntegerToFloat`, [a, values, g.float32(1), g.float32(1)], { domain: MICROSOFT_DOMAIN })[0];
  const sums = g.op('Add', `${path}/value_sums`, [product(pastCodes, tensors.past.value, 'past_values'), product(newCodes, newValueCodes, 'new_values')]); // [B, kvHeads, 2 * groups * S, headDim]
  // coarse rows x step + fine rows x fineStep.
  const factors = g.op('Concat', `${path}/value_sums/factors`, [step, fineStep], { axis: -2 }); // [B, kvHeads, 2 * groups * S, 1]
  const halves = g.op('Reshape', `${path}/value_sums/halves`, [g.op('Mul', `${path}/value_sums/Mul`, [sums, factors]), g.int64([0, 0, 2, -1])]); // [B, kvHeads, 2, groups * S * headDim]
  const attended = g.op('Reshape', `${path}/attended`, [
    g.op('ReduceSum', `${path}/attended/ReduceSum`, [halves, g.int64([2])], { keepdims: 0 }),
    g.int64([0, 0, -1, shape.headDim]),
  ]); // [B, kvHeads, groups * S, headDim]
  return addTokenMajor(g, shape, path, attended);
}
