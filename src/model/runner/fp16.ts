/**
 * IEEE 754 half-precision <-> single-precision conversion for models whose KV cache or logits are
 * float16. onnxruntime-node hands float16 tensors to JavaScript as raw Uint16Array bits (Node 20
 * has no Float16Array), so logits must be widened before sampling.
 */

/** All 65536 half values widened once (256 KiB): a table lookup beats bit twiddling per element. */
const HALF_TO_FLOAT = buildHalfToFloatTable();

function buildHalfToFloatTable(): Float32Array {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    if (exponent === 0) table[h] = sign * 2 ** -14 * (fraction / 1024);
    else if (exponent === 31) table[h] = fraction ? NaN : sign * Infinity;
    else table[h] = sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
  }
  return table;
}

/** Widens `src` (half bits) into `dst` element by element; both must have the same length. */
export function halfToFloat(src: Uint16Array, dst: Float32Array): Float32Array {
  for (let i = 0; i < src.length; i++) dst[i] = HALF_TO_FLOAT[src[i]];
  return dst;
}
