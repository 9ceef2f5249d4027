import type { Qwen3Shape } from '../shape.js';
import { addAttentionOperands, type CacheReadInputs } from './cache-read-attention.js';
import type { GraphBuilder } from './graph-builder.js';
import { MICROSOFT_DOMAIN } from './graph-builder.js';
import { addInt8CacheOutputs, type Int8CacheTensors } from './int8-cache-attention.js';

/**
 * Attention over the int8 KV cache for steps of many new tokens (the prefill graph): the cache
 * dequantized to float32 and read by onnxruntime's MultiHeadAttention, which computes scores, mask,
 * softmax and the value product one head at a time, the head's [S, S + P] scores staying in cache.
 *
 * Why not the integer route of int8-cache-attention.ts here: its products are cheap but every step
 * around them (scales, mask, softmax, the 14-bit probability codes) is an operator over the whole
 * [B, kvHeads, groups * S, S + P] score tensor, out of cache each time; for a 128-token chunk over
 * 3000 cached positions that is 57 ms a layer against 36 ms here (2-core Zen 5,
 * loadtest/prefill-attention-probe.ts), the part of a long prompt's prefill that grows with the
 * context. A decode step's score tensor is S = 1 row per query head, so the main graph keeps the
 * integer route, which reads a quarter of the bytes.
 *
 * The cache outputs are the integer route's (addInt8CacheOutputs), and the step's own keys and
 * values are attended as the cache will hold them (codes times scales), new positions first as in
 * every cache reader: a position is seen with the same numbers whether it came from the cache or
 * the step, and a row's result does not depend on the others in the batch. Queries stay float32
 * (the integer route codes them on 7 bits), so this route is the closer of the two to a float cache.
 */
export function addDequantizedCacheAttention(g: GraphBuilder, shape: Qwen3Shape, path: string, inputs: CacheReadInputs, joinedMask: string, tensors: Int8CacheTensors): string {
  const { numAttentionHeads: heads, numKeyValueHeads: kvHeads, headDim } = shape;
  const groups = heads / kvHeads;
  const { qGrouped, newKey, newValue } = addAttentionOperands(g, shape, path, inputs, tensors);
  const step = addInt8CacheOutputs(g, path, newKey, newValue, tensors.outputs);

  // One DequantizeLinear per plane over [B * kvHeads * P, headDim] rows, one scale per row.
  const dequantizeRows = (codes: string, scales: string, name: string) => {
    const rows = g.op('Reshape', `${path}/${name}/rows`, [codes, g.int64([-1, headDim])]);
    const flat = g.op('DequantizeLinear', `${path}/${name}/DequantizeLinear`, [rows, g.op('Reshape', `${path}/${name}/row_scales`, [scales, g.int64([-1])])], { axis: 0 });
    return g.op('Reshape', `${path}/${name}/heads`, [flat, g.op('Shape', `${path}/${name}/Shape`, [codes])]); // [B, kvHeads, P, headDim]
  };
  // The cached keys are stored transposed, [B, kvHeads, headDim, P] or in blocks [B, kvHeads, P / N, headDim, N];
  // transposing the int8 codes moves a quarter of the bytes.
  const pastKeyCodes =
    tensors.keyBlock === 0
      ? g.op('Transpose', `${path}/past_key/Transpose`, [tensors.past.key], { perm: [0, 1, 3, 2] })
      : g.op('Reshape', `${path}/past_key/Reshape`, [g.op('Transpose', `${path}/past_key/Transpose`, [tensors.past.key], { perm: [0, 1, 2, 4, 3] }), g.int64([0, 0, -1, headDim])]);
  const keys = g.op('Concat', `${path}/keys`, [
    g.op('Mul', `${path}/new_key/dequantize`, [step.keyCodes, step.keyScales]),
    dequantizeRows(pastKeyCodes, tensors.past.keyScale, 'past_key'),
  ], { axis: 2 }); // [B, kvHeads, S + P, headDim]
  const values = g.op('Concat', `${path}/values`, [
    g.op('Mul', `${path}/new_value/dequantize`, [step.valueCodes, step.valueScales]),
    dequantizeRows(tensors.past.value, tensors.past.valueScale, 'past_value'),
  ], { axis: 2 });

  // MultiHeadAttention wants as many key heads as query heads: each KV head is one "head" whose
  // query rows are its groups' queries (row g * S + s), and the joined mask [B, 1, groups * S, S + P]
  // is its attention bias. Queries token-major for the op: [B, groups * S, kvHeads * headDim].
  const query = g.op('Reshape', `${path}/query`, [g.op('Transpose', `${path}/query/Transpose`, [qGrouped], { perm: [0, 2, 1, 3] }), g.int64([0, 0, kvHeads * headDim])]);
  const attended = g.node('MultiHeadAttention', `${path}/MultiHeadAttention`, [query, keys, values, '', '', joinedMask], {
    domain: MICROSOFT_DOMAIN,
    attributes: { num_heads: kvHeads, scale: { float: 1 / Math.sqrt(headDim) } },
  })[0]; // [B, groups * S, kvHeads * headDim]
  // Back to [B, S, heads * headDim] with query head h = kv * groups + g.
  const perGroup = g.op('Reshape', `${path}/out/Reshape`, [attended, g.int64([0, groups, -1, kvHeads, headDim])]); // [B, groups, S, kvHeads, headDim]
  const tokenMajor = g.op('Transpose', `${path}/out/Transpose`, [perGroup], { perm: [0, 2, 3, 1, 4] }); // [B, S, kvHeads, groups, headDim]
  return g.op('Reshape', `${path}/out/Reshape_2`, [tokenMajor, g.int64([0, 0, heads * headDim])]);
}
