/**
 * Rotary position embedding in Hugging Face's non-interleaved ("rotate_half") form: dimension i of
 * the first half pairs with dimension i + headDim/2, and the pair at position p turns by the angle
 * p * theta^(-2i/headDim):
 *   out[i]        = x[i] * cos - x[i + half] * sin
 *   out[i + half] = x[i + half] * cos + x[i] * sin
 * Angles are computed in doubles (Hugging Face computes them in fp32; the difference at a few
 * thousand positions is far below what the tests resolve).
 */
export class RotaryEmbedding {
  private readonly half: number;
  /** [headDim / 2] */
  private readonly inverseFrequencies: Float64Array;

  constructor(
    private readonly headDim: number,
    theta: number,
  ) {
    if (headDim % 2 !== 0) throw new Error(`rotary embedding needs an even head_dim, got ${headDim}`);
    this.half = headDim / 2;
    this.inverseFrequencies = new Float64Array(this.half);
    for (let i = 0; i < this.half; i++) {
      this.inverseFrequencies[i] = 1 / Math.pow(theta, (2 * i) / headDim);
    }
  }

  /**
   * Rotates x [seqLen, heads, headDim] in place; token s sits at position startPosition + s.
   */
  applyInPlace(x: Float32Array, seqLen: number, heads: number, startPosition: number): void {
    const { headDim, half, inverseFrequencies } = this;
    if (x.length !== seqLen * heads * headDim) {
      throw new Error(`rotary: got ${x.length} values for ${seqLen} x ${heads} x ${headDim}`);
    }
    const cos = new Float64Array(half);
    const sin = new Float64Array(half);
    for (let s = 0; s < seqLen; s++) {
      const position = startPosition + s;
      for (let i = 0; i < half; i++) {
        const angle = position * inverseFrequencies[i];
        cos[i] = Math.cos(angle);
        sin[i] = Math.sin(angle);
      }
      for (let h = 0; h < heads; h++) {
        const base = (s * heads + h) * headDim;
        for (let i = 0; i < half; i++) {
          const first = x[base + i];
          const second = x[base + half + i];
          x[base + i] = first * cos[i] - second * sin[i];
          x[base + half + i] = second * cos[i] + first * sin[i];
        }
      }
    }
  }
}
