import type { Qwen3Shape } from '../../src/convert/shape.js';
import { causalGroupedQueryAttention } from './causal-attention.js';
import type { ReferenceKvCache } from './kv-cache.js';
import { linear } from './linear.js';
import type { ReferenceLayerWeights } from './reference-weights.js';
import { rmsNorm } from './rms-norm.js';
import type { RotaryEmbedding } from './rotary-embedding.js';

/** What one layer needs besides its weights: where the chunk sits and the shared pieces. */
export interface LayerContext {
  shape: Qwen3Shape;
  rotary: RotaryEmbedding;
  cache: ReferenceKvCache;
  /** Tokens in this chunk. */
  seqLen: number;
  /** Positions already in the cache before this chunk. */
  startPosition: number;
}

/**
 * One Qwen3 decoder layer over a chunk of tokens, updating `hidden` [seqLen, hidden] in place:
 *   h = h + o_proj(attention(rope(q_norm(q)), rope(k_norm(k)), v))   with x = input_layernorm(h)
 *   h = h + down_proj(silu(gate_proj(x)) * up_proj(x))              with x = post_attention_layernorm(h)
 * and appending this layer's keys and values to the cache (the caller commits the chunk).
 */
export function runDecoderLayer(
  hidden: Float32Array,
  layer: number,
  weights: ReferenceLayerWeights,
  context: LayerContext,
): void {
  const { shape, rotary, cache, seqLen, startPosition } = context;
  const { hiddenSize, intermediateSize, numAttentionHeads: heads, numKeyValueHeads: kvHeads, headDim } = shape;
  const eps = shape.rmsNormEps;

  const x = rmsNorm(hidden, seqLen, hiddenSize, weights.inputNorm, eps); // [seqLen, hidden]
  const rawQuery = linear(x, seqLen, weights.qProj, heads * headDim, hiddenSize); // [seqLen, heads, headDim]
  const rawKey = linear(x, seqLen, weights.kProj, kvHeads * headDim, hiddenSize); // [seqLen, kvHeads, headDim]
  const value = linear(x, seqLen, weights.vProj, kvHeads * headDim, hiddenSize); // [seqLen, kvHeads, headDim]

  // Qwen3 normalizes each head's query and key before the rotation, not after.
  const query = rmsNorm(rawQuery, seqLen * heads, headDim, weights.qNorm, eps);
  const key = rmsNorm(rawKey, seqLen * kvHeads, headDim, weights.kNorm, eps);
  rotary.applyInPlace(query, seqLen, heads, startPosition);
  rotary.applyInPlace(key, seqLen, kvHeads, startPosition);

  cache.append(layer, key, value, seqLen);
  const past = cache.layerView(layer, startPosition + seqLen);
  const attention = causalGroupedQueryAttention(query, past.keys, past.values, {
    seqLen,
    startPosition,
    heads,
    kvHeads,
    headDim,
  }); // [seqLen, heads * headDim]
  const attentionOut = linear(attention, seqLen, weights.oProj, hiddenSize, heads * headDim); // [seqLen, hidden]
  for (let i = 0; i < hidden.length; i++) hidden[i] += attentionOut[i];

  const y = rmsNorm(hidden, seqLen, hiddenSize, weights.postAttentionNorm, eps); // [seqLen, hidden]
  const gate = linear(y, seqLen, weights.gateProj, intermediateSize, hiddenSize); // [seqLen, intermediate]
  const up = linear(y, seqLen, weights.upProj, intermediateSize, hiddenSize); // [seqLen, intermediate]
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i];
    gate[i] = (g / (1 + Math.exp(-g))) * up[i]; // SiLU(gate) * up
  }
  const mlpOut = linear(gate, seqLen, weights.downProj, hiddenSize, intermediateSize); // [seqLen, hidden]
  for (let i = 0; i < hidden.length; i++) hidden[i] += mlpOut[i];
}
