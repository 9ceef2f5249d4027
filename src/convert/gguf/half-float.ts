/**
 * fp32 -> IEEE 754 half precision, rounded to nearest with ties to even, as ggml's
 * GGML_FP32_TO_FP16 does: the scales of Q4_0 and Q8_0 blocks are stored this way. (The opposite
 * direction lives in src/model/runner/fp16.ts.)
 */

const FLOAT = new Float32Array(1);
const BITS = new Uint32Array(FLOAT.buffer);

/** The half-precision bits of `value` (first rounded to fp32, as a C float would be). */
export function floatToHalfBits(value: number): number {
  FLOAT[0] = value;
  const x = BITS[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0); // Inf stays Inf, NaN stays a quiet NaN
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 31) return sign | 0x7c00; // beyond 65504: Inf
  if (halfExponent <= 0) return sign | subnormalHalf(exponent, mantissa);
  // Normal: drop 13 mantissa bits. A carry out of the mantissa bumps the exponent, which is the
  // right result (up to Inf at the top).
  const half = sign | (halfExponent << 10) | (mantissa >>> 13);
  return half + roundingIncrement(mantissa, 13, half);
}

/** Half subnormals (and zero) for fp32 values below 2^-14: units of 2^-24. */
function subnormalHalf(exponent: number, mantissa: number): number {
  // The fp32 value is m * 2^(exponent - 150) with the implicit bit restored (fp32 subnormals,
  // exponent 0, are far below half's range and round to zero through the shift test below).
  const shift = 126 - exponent;
  if (shift > 24) return 0;
  const m = mantissa | 0x800000;
  const half = m >>> shift;
  return half + roundingIncrement(m, shift, half);
}

/** 1 when the `dropped` low bits of `bits` round the kept part up (nearest, ties to even). */
function roundingIncrement(bits: number, dropped: number, kept: number): number {
  const rest = bits & ((1 << dropped) - 1);
  const halfway = 1 << (dropped - 1);
  return rest > halfway || (rest === halfway && (kept & 1) === 1) ? 1 : 0;
}
