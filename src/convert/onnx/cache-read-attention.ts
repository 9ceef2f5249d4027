import type { Qwen3Shape } from '../shape.js';
import type { GraphBuilder } from './graph-builder.js';
import { MICROSOFT_DOMAIN } from './graph-builder.js';
import { DataType } from './proto-factory.js';

/**
 * Attention that reads the KV cache as a plain input and returns only the new positions' keys and
 * values, for graphs written with `kvOutputs: 'new-positions'`.
 *
 * Why not GroupQueryAttention's shared buffer: onnxruntime-node copies every fetched output into a
 * fresh JavaScript buffer after each run, so fetching the whole cache as `present.N.*` costs a
 * copy (and the page faults of a new allocation) of every row's full capacity per step, which grew
 * to dominate decode at long contexts. Fed inputs are not copied, so here each step reads the
 * cache once (what attention must do anyway) and the runner writes the S new positions per row
 * into its pool itself.
 *
 * The math is GQA's: softmax(q k^T * scale + mask) v over the cached positions followed by the new
 * ones, with query head h reading KV head h / (heads / kvHeads). The cached and the new positions
 * are scored in two matrix products and joined before one softmax, so the cache is never
 * concatenated (copied) with the new positions.
 */

/** Values computed once from the graph inputs and shared by every layer. */
export interface CacheReadInputs {
  positionIds: string; // int64 [B, S]: each row's past length + 0..S-1
  pastMask: string; // float32 [B, 1, 1, P]: 0 for a row's cached positions, -inf-like beyond
  newMask: string; // float32 [groups * S, S]: causal among the new positions, tiled per query group
  splitSizes: string; // int64 [2]: [S, P], to split the joined probabilities back
  cosCache: string; // float32 [maxPositions, headDim / 2]
  sinCache: string; // float32 [maxPositions, headDim / 2]
}

/**
 * The smallest float32: masked scores become exactly 0 after softmax. Not -Infinity, so that a
 * masked score plus a (finite) stale cache value never meets inf - inf.
 */
const MASKED = -3.4028234663852886e38;

/**
 * Derives positions and masks from `attention_mask` [B, total] (each row: past + S ones, then
 * zeros), `input_ids` [B, S] and a cache input [B, kvHeads, P, width] of layer 0.
 */
export function addCacheReadInputs(
  g: GraphBuilder,
  shape: Qwen3Shape,
  tensors: { attentionMask: string; inputIds: string; pastCache0: string; cosCache: string; sinCache: string },
): CacheReadInputs {
  const path = '/model/cache_read_inputs';
  const groups = shape.numAttentionHeads / shape.numKeyValueHeads;
  const scalar = (value: number) => g.int64([value], []);
  const dim = (tensor: string, axis: number, name: string) =>
    g.op('Gather', `${path}/${name}/Gather`, [g.op('Shape', `${path}/${name}/Shape`, [tensor]), scalar(axis)], { axis: 0 }); // int64 scalar

  const newTokens = dim(tensors.inputIds, 1, 'new_tokens'); // S
  const cached = dim(tensors.pastCache0, 2, 'cache_positions'); // P
  const rowLengths = g.op('ReduceSum', `${path}/ReduceSum`, [tensors.attentionMask, g.int64([1])], { keepdims: 1 }); // [B, 1]
  const pastLengths = g.op('Sub', `${path}/past_lengths`, [rowLengths, newTokens]); // [B, 1]

  const newRange = g.op('Range', `${path}/new_range`, [scalar(0), newTokens, scalar(1)]); // [S]
  const positionIds = g.op('Add', `${path}/position_ids`, [pastLengths, g.op('Unsqueeze', `${path}/new_range/row`, [newRange, g.int64([0])])]); // [B, S]

  const cacheRange = g.op('Range', `${path}/cache_range`, [scalar(0), cached, scalar(1)]); // [P]
  const cachedValid = g.op('Less', `${path}/cached_valid`, [g.op('Unsqueeze', `${path}/cache_range/row`, [cacheRange, g.int64([0])]), pastLengths]); // [B, P]
  const pastMask2d = g.op('Where', `${path}/past_mask`, [cachedValid, g.float32(0), g.float32(MASKED)]); // [B, P]
  const pastMask = g.op('Unsqueeze', `${path}/past_mask/Unsqueeze`, [pastMask2d, g.int64([1, 2])]); // [B, 1, 1, P]

  // Query row s may see new key j when j <= s.
  const keyIndex = g.op('Unsqueeze', `${path}/causal/key`, [newRange, g.int64([0])]); // [1, S]
  const queryIndex = g.op('Unsqueeze', `${path}/causal/query`, [newRange, g.int64([1])]); // [S, 1]
  const causal = g.op('LessOrEqual', `${path}/causal/LessOrEqual`, [keyIndex, queryIndex]); // [S, S]
  const causalMask = g.op('Where', `${path}/causal/Where`, [causal, g.float32(0), g.float32(MASKED)]); // [S, S]
  const newMask = g.op('Tile', `${path}/causal/Tile`, [causalMask, g.int64([groups, 1])]); // [groups * S, S]

  const splitSizes = g.op('Concat', `${path}/split_sizes`, [
    g.op('Unsqueeze', `${path}/split_sizes/new`, [newTokens, g.int64([0])]),
    g.op('Unsqueeze', `${path}/split_sizes/cached`, [cached, g.int64([0])]),
  ], { axis: 0 }); // [2]
  return { positionIds, pastMask, newMask, splitSizes, cosCache: tensors.cosCache, sinCache: tensors.sinCache };
}

/**
 * The causal mask of the new positions and the mask of the cached ones joined, new positions first
 * as the scores are: [B, 1, groups * S, S + P]. Computed once for every layer.
 */
export function addJoinedMask(g: GraphBuilder, inputs: CacheReadInputs): string {
  const path = '/model/cache_read_inputs/joined_mask';
  const newMask = g.op('Unsqueeze', `${path}/new`, [inputs.newMask, g.int64([0, 1])]); // [1, 1, groups * S, S]
  // Zeros of the shapes each part must be broadcast to (0 * the finite mask value is 0).
  const zerosOf = (mask: string, name: string) =>
    g.op('Mul', `${path}/${name}/zeros`, [g.op('Slice', `${path}/${name}/Slice`, [mask, g.int64([0]), g.int64([1]), g.int64([-1])]), g.float32(0)]);
  const newFull = g.op('Add', `${path}/new/rows`, [newMask, zerosOf(inputs.pastMask, 'past')]); // [B, 1, groups * S, S]
  const pastFull = g.op('Add', `${path}/past/rows`, [inputs.pastMask, zerosOf(newMask, 'new')]); // [B, 1, groups * S, P]
  return g.op('Concat', `${path}/Concat`, [newFull, pastFull], { axis: -1 });
}

/** What both cache readers start from: the grouped, rotated queries and the step's own keys and values, heads first. */
export interface AttentionOperands {
  qGrouped: string; // [B, kvHeads, groups * S, headDim]: query head h = kv * groups + g, rows g * S + s
  newKey: string; // rotated [B, kvHeads, S, headDim]
  newValue: string; // [B, kvHeads, S, headDim]
}

/**
 * Rotates q and k and brings q, k and v into the cache's heads-first layout. `outputs` names the
 * new keys and values as graph outputs (the float cache returns them as they are).
 */
export function addAttentionOperands(
  g: GraphBuilder,
  shape: Qwen3Shape,
  path: string,
  inputs: CacheReadInputs,
  tensors: { q: string; k: string; v: string },
  outputs?: { key: string; value: string },
): AttentionOperands {
  const { numAttentionHeads: heads, numKeyValueHeads: kvHeads, headDim } = shape;
  const groups = heads / kvHeads;
  const rotate = (x: string, numHeads: number, name: string) =>
    g.op('RotaryEmbedding', `${path}/${name}`, [x, inputs.positionIds, inputs.cosCache, inputs.sinCache], { interleaved: 0, num_heads: numHeads }, MICROSOFT_DOMAIN);
  const qRotated = rotate(tensors.q, heads, 'q_rotary'); // [B, S, heads * headDim]
  const kRotated = rotate(tensors.k, kvHeads, 'k_rotary'); // [B, S, kvHeads * headDim]

  // Heads first: [B, S, kvHeads, headDim] -> [B, kvHeads, S, headDim], the cache's layout.
  const headsFirst = (x: string, name: string, output?: string) =>
    g.node('Transpose', `${path}/${name}/Transpose`, [g.op('Reshape', `${path}/${name}/Reshape`, [x, g.int64([0, 0, kvHeads, headDim])])], {
      outputs: output ? [output] : 1,
      attributes: { perm: [0, 2, 1, 3] },
    })[0];
  const newKey = headsFirst(kRotated, 'new_key', outputs?.key);
  const newValue = headsFirst(tensors.v, 'new_value', outputs?.value);

  // Queries grouped under their KV head, one matrix per KV head: [B, kvHeads, groups * S, headDim].
  const q5 = g.op('Reshape', `${path}/q/Reshape`, [qRotated, g.int64([0, 0, kvHeads, groups, headDim])]); // [B, S, kvHeads, groups, headDim]
  const qGrouped = g.op('Reshape', `${path}/q/Reshape_2`, [
    g.op('Transpose', `${path}/q/Transpose`, [q5], { perm: [0, 2, 3, 1, 4] }), // [B, kvHeads, groups, S, headDim]
    g.int64([0, kvHeads, -1, headDim]),
  ]);
  return { qGrouped, newKey, newValue };
}

/**
 * Joins masked scores new positions first: a decode step's own score then sits at offset 0 and each
 * cached position at a fixed offset, whatever the capacity P that the longest row in the batch
 * sets; the softmax's vectorized sums then group a row's values the same way in any batch.
 * Returns the probabilities [B, kvHeads, groups * S, S + P].
 */
export function addJoinedSoftmax(g: GraphBuilder, path: string, inputs: CacheReadInputs, newScores: string, pastScores: string): string {
  const scores = g.op('Concat', `${path}/scores`, [
    g.op('Add', `${path}/new_scores/mask`, [newScores, inputs.newMask]),
    g.op('Add', `${path}/past_scores/mask`, [pastScores, inputs.pastMask]),
  ], { axis: -1 }); // [B, kvHeads, groups * S, S + P]
  return g.op('Softmax', `${path}/Softmax`, [scores], { axis: -1 });
}

/** Back to the token-major layout o_proj reads: [B, kvHeads, groups * S, headDim] -> [B, S, heads * headDim], head h = kv * groups + g. */
export function addTokenMajor(g: GraphBuilder, shape: Qwen3Shape, path: string, attended: string): string {
  const { numAttentionHeads: heads, numKeyValueHeads: kvHeads, headDim } = shape;
  const perGroup = g.op('Reshape', `${path}/out/Reshape`, [attended, g.int64([0, kvHeads, heads / kvHeads, -1, headDim])]); // [B, kvHeads, groups, S, headDim]
  const tokenMajor = g.op('Transpose', `${path}/out/Transpose`, [perGroup], { perm: [0, 3, 1, 2, 4] }); // [B, S, kvHeads, groups, headDim]
  return g.op('Reshape', `${path}/out/Reshape_2`, [tokenMajor, g.int64([0, 0, heads * headDim])]);
}

/**
 * One layer's attention over a float cache. q [B, S, heads * headDim] and k [B, S, kvHeads * headDim]
 * are already head-normed (not yet rotated), v [B, S, kvHeads * headDim]; the cache inputs are
 * [B, kvHeads, P, headDim]. Writes the rotated new keys and the new values as the graph outputs
 * `newKeyName` / `newValueName` ([B, kvHeads, S, headDim]) and returns [B, S, heads * headDim].
 */
export function addCacheReadAttention(
  g: GraphBuilder,
  shape: Qwen3Shape,
  path: string,
  inputs: CacheReadInputs,
  tensors: { q: string; k: string; v: string; pastKey: string; pastValue: string; newKeyName: string; newValueName: string },
): string {
  const { qGrouped, newKey, newValue } = addAttentionOperands(g, shape, path, inputs, tensors, { key: tensors.newKeyName, value: tensors.newValueName });
  const scale = { float: 1 / Math.sqrt(shape.headDim) };
  const score = (keys: string, name: string) =>
    g.op('FusedMatMul', `${path}/${name}`, [qGrouped, keys], { transA: 0, transB: 1, alpha: scale }, MICROSOFT_DOMAIN);
  const probs = addJoinedSoftmax(g, path, inputs, score(newKey, 'new_scores'), score(tensors.pastKey, 'past_scores'));
  const [newProbs, pastProbs] = g.node('Split', `${path}/Split`, [probs, inputs.splitSizes], { outputs: 2, attributes: { axis: -1 } });
  const attended = g.op('Add', `${path}/attended`, [
    g.op('MatMul', `${path}/past_values`, [pastProbs, tensors.pastValue]),
    g.op('MatMul', `${path}/new_values`, [newProbs, newValue]),
  ]); // [B, kvHeads, groups * S, headDim]
  return addTokenMajor(g, shape, path, attended);
}
