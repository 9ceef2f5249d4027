/**
 * Causal grouped-query attention: query head h reads key/value head floor(h / (heads / kvHeads)),
 * and the query at position p attends to positions 0..p, scaled by 1/sqrt(headDim) before a
 * softmax (computed in doubles, max-subtracted).
 *
 * query  [seqLen, heads, headDim], positions startPosition .. startPosition + seqLen - 1
 * keys   [total, kvHeads, headDim], total = startPosition + seqLen (already rotated)
 * values [total, kvHeads, headDim]
 * returns [seqLen, heads * headDim]
 */
export function causalGroupedQueryAttention(
  query: Float32Array,
  keys: Float32Array,
  values: Float32Array,
  dims: { seqLen: number; startPosition: number; heads: number; kvHeads: number; headDim: number },
): Float32Array {
  const { seqLen, startPosition, heads, kvHeads, headDim } = dims;
  const total = startPosition + seqLen;
  if (heads % kvHeads !== 0) throw new Error(`attention: ${heads} heads do not divide into ${kvHeads} kv heads`);
  if (keys.length !== total * kvHeads * headDim || values.length !== keys.length) {
    throw new Error(`attention: keys/values hold ${keys.length}/${values.length} values, expected ${total} positions`);
  }
  const groupSize = heads / kvHeads;
  const scale = 1 / Math.sqrt(headDim);
  const kvStride = kvHeads * headDim; // floats between one position and the next in keys/values
  const output = new Float32Array(seqLen * heads * headDim);
  const scores = new Float64Array(total);
  const accumulator = new Float64Array(headDim);

  for (let s = 0; s < seqLen; s++) {
    const visible = startPosition + s + 1; // the causal mask: positions 0..startPosition + s
    for (let h = 0; h < heads; h++) {
      const q0 = (s * heads + h) * headDim;
      const kvOffset = Math.floor(h / groupSize) * headDim;
      let maxScore = -Infinity;
      for (let t = 0; t < visible; t++) {
        const k0 = t * kvStride + kvOffset;
        let dot = 0;
        for (let i = 0; i < headDim; i++) dot += query[q0 + i] * keys[k0 + i];
        const score = dot * scale;
        scores[t] = score;
        if (score > maxScore) maxScore = score;
      }
      let denominator = 0;
      for (let t = 0; t < visible; t++) {
        const weight = Math.exp(scores[t] - maxScore);
        scores[t] = weight;
        denominator += weight;
      }
      accumulator.fill(0);
      for (let t = 0; t < visible; t++) {
        const weight = scores[t] / denominator;
        const v0 = t * kvStride + kvOffset;
        for (let i = 0; i < headDim; i++) accumulator[i] += weight * values[v0 + i];
      }
      output.set(accumulator, q0);
    }
  }
  return output;
}
