/**
 * The cos/sin tables GroupQueryAttention rotates q and k with (do_rotary=1, non-interleaved: the
 * rotate-half convention of Hugging Face Qwen3, pairing dimension i with i + headDim/2).
 *
 * Computed in float32 steps the way Hugging Face's default RoPE does them, so an fp32 export
 * matches `Qwen3ForCausalLM` to the last bits rather than to ~1e-4 at long positions:
 *   invFreq[i] = 1 / theta^(2i / headDim)          (float32)
 *   angle      = float32(position * invFreq[i])    (float32 product)
 *   cos, sin   = float32(cos(angle)), float32(sin(angle))
 */
export interface RotaryCache {
  /** [maxPositions, headDim / 2] */
  cos: Float32Array;
  /** [maxPositions, headDim / 2] */
  sin: Float32Array;
  maxPositions: number;
  halfDim: number;
}

export function rotaryInverseFrequencies(headDim: number, theta: number): Float32Array {
  if (headDim % 2 !== 0) throw new RangeError(`head_dim must be even for rotary embeddings, got ${headDim}`);
  const halfDim = headDim / 2;
  const inverse = new Float32Array(halfDim);
  for (let i = 0; i < halfDim; i++) {
    const exponent = Math.fround((2 * i) / headDim);
    inverse[i] = Math.fround(1 / Math.fround(theta ** exponent));
  }
  return inverse;
}

export function buildRotaryCache(headDim: number, theta: number, maxPositions: number): RotaryCache {
  const inverse = rotaryInverseFrequencies(headDim, theta);
  const halfDim = inverse.length;
  const cos = new Float32Array(maxPositions * halfDim);
  const sin = new Float32Array(maxPositions * halfDim);
  for (let position = 0; position < maxPositions; position++) {
    for (let i = 0; i < halfDim; i++) {
      const angle = Math.fround(position * inverse[i]);
      cos[position * halfDim + i] = Math.cos(angle);
      sin[position * halfDim + i] = Math.sin(angle);
    }
  }
  return { cos, sin, maxPositions, halfDim };
}
