/**
 * y = x · Wᵀ for a batch of rows, the way a Hugging Face `nn.Linear` without bias applies its
 * weight: x [rows, inDim], weight [outDim, inDim] row-major, y [rows, outDim].
 *
 * Why this loop order: the weight is the big operand (the LM head is [151936, hidden]), so the
 * outer loop walks weight rows and each row is read from memory once per call, while the inner
 * loops reuse it against every input row from cache. The main kernel computes a 2 x 4 tile (two
 * weight rows against four input rows: six loads feed eight multiply-adds), which measured about
 * 1.5x faster than one weight row at a time. Products accumulate in JavaScript doubles and round
 * to fp32 once, on store, so the loop order does not change the fp32 result in practice.
 */
export function linear(
  x: Float32Array,
  rows: number,
  weight: Float32Array,
  outDim: number,
  inDim: number,
): Float32Array {
  if (x.length !== rows * inDim) {
    throw new Error(`linear: input holds ${x.length} values, expected ${rows} x ${inDim}`);
  }
  if (weight.length !== outDim * inDim) {
    throw new Error(`linear: weight holds ${weight.length} values, expected ${outDim} x ${inDim}`);
  }
  const y = new Float32Array(rows * outDim); // [rows, outDim]
  let o = 0;
  for (; o + 2 <= outDim; o += 2) {
    let r = 0;
    for (; r + 4 <= rows; r += 4) tile2x4(x, weight, y, o, r, outDim, inDim);
    for (; r < rows; r++) {
      y[r * outDim + o] = dot(x, r * inDim, weight, o * inDim, inDim);
      y[r * outDim + o + 1] = dot(x, r * inDim, weight, (o + 1) * inDim, inDim);
    }
  }
  for (; o < outDim; o++) {
    for (let r = 0; r < rows; r++) y[r * outDim + o] = dot(x, r * inDim, weight, o * inDim, inDim);
  }
  return y;
}

/** y[r..r+3, o..o+1] from weight rows o, o+1 and input rows r..r+3. */
function tile2x4(x: Float32Array, weight: Float32Array, y: Float32Array, o: number, r: number, outDim: number, inDim: number): void {
  const w0 = o * inDim;
  const w1 = w0 + inDim;
  const x0 = r * inDim;
  const x1 = x0 + inDim;
  const x2 = x1 + inDim;
  const x3 = x2 + inDim;
  let a00 = 0;
  let a01 = 0;
  let a10 = 0;
  let a11 = 0;
  let a20 = 0;
  let a21 = 0;
  let a30 = 0;
  let a31 = 0;
  for (let k = 0; k < inDim; k++) {
    const v0 = weight[w0 + k];
    const v1 = weight[w1 + k];
    const u0 = x[x0 + k];
    const u1 = x[x1 + k];
    const u2 = x[x2 + k];
    const u3 = x[x3 + k];
    a00 += v0 * u0;
    a01 += v1 * u0;
    a10 += v0 * u1;
    a11 += v1 * u1;
    a20 += v0 * u2;
    a21 += v1 * u2;
    a30 += v0 * u3;
    a31 += v1 * u3;
  }
  let at = r * outDim + o;
  y[at] = a00;
  y[at + 1] = a01;
  at += outDim;
  y[at] = a10;
  y[at + 1] = a11;
  at += outDim;
  y[at] = a20;
  y[at + 1] = a21;
  at += outDim;
  y[at] = a30;
  y[at + 1] = a31;
}

/**
 * One dot product, split over four independent sums so the additions do not wait on each other
 * (a lone input row, as in every decode step, gets no reuse from tiling).
 */
function dot(x: Float32Array, x0: number, weight: Float32Array, w0: number, inDim: number): number {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  let k = 0;
  for (; k + 4 <= inDim; k += 4) {
    a0 += weight[w0 + k] * x[x0 + k];
    a1 += weight[w0 + k + 1] * x[x0 + k + 1];
    a2 += weight[w0 + k + 2] * x[x0 + k + 2];
    a3 += weight[w0 + k + 3] * x[x0 + k + 3];
  }
  for (; k < inDim; k++) a0 += weight[w0 + k] * x[x0 + k];
  return a0 + a1 + (a2 + a3);
}
