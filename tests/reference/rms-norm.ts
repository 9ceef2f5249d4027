/**
 * Qwen3's RMSNorm applied to each row of x [rows, dim]: x / sqrt(mean(x²) + eps) * weight.
 * The same function serves the hidden-state norms (dim = hidden) and the per-head q/k norms
 * (rows = tokens * heads, dim = headDim), exactly as Hugging Face's Qwen3RMSNorm normalizes
 * over the last axis only. Returns a new array; x is left untouched.
 */
export function rmsNorm(
  x: Float32Array,
  rows: number,
  dim: number,
  weight: Float32Array,
  eps: number,
): Float32Array {
  if (x.length !== rows * dim || weight.length !== dim) {
    throw new Error(`rmsNorm: got ${x.length} values and a ${weight.length}-wide weight for ${rows} x ${dim}`);
  }
  const y = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    const base = r * dim;
    let sumSquares = 0;
    for (let i = 0; i < dim; i++) sumSquares += x[base + i] * x[base + i];
    const inverseRms = 1 / Math.sqrt(sumSquares / dim + eps);
    for (let i = 0; i < dim; i++) y[base + i] = x[base + i] * inverseRms * weight[i];
  }
  return y;
}
