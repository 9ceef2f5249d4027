import { floatToHalfBits } from './half-float.js';

/** Values per block of both formats. */
export const QK = 32;

/**
 * llama.cpp's Q8_0 (ggml-quants.c, quantize_row_q8_0_ref) of one row, written into `out` at
 * `offset`: per block of 32 values, d = max|x| / 127 stored as fp16, then q = round(x / d) as
 * int8 (rounded half away from zero, C's roundf). The arithmetic is done in fp32 steps like the
 * C code's, so the codes match llama.cpp's own quantizer.
 */
export function quantizeRowQ8_0(row: Float32Array, out: Uint8Array, offset: number): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let b = 0; b < row.length; b += QK) {
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(row[b + j]));
    const d = Math.fround(amax / 127);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    view.setUint16(offset, floatToHalfBits(d), true);
    for (let j = 0; j < QK; j++) {
      const scaled = Math.fround(row[b + j] * id);
      view.setInt8(offset + 2 + j, Math.sign(scaled) * Math.round(Math.abs(scaled)));
    }
    offset += 2 + QK;
  }
}

/**
 * llama.cpp's Q4_0 (quantize_row_q4_0_ref) of one row: per block, `max` is the value of largest
 * magnitude (sign kept, first one on ties), d = max / -8 stored as fp16, and each value becomes
 * q = min(15, floor(x / d + 8.5)), i.e. round(x / d) + 8 clamped to 4 bits: `max` itself maps to
 * 0 (-8 d), so the full range [-8, 7] is used on its side. Two codes per byte: value j of the
 * block in the low nibble of byte j, value j + 16 in its high nibble.
 */
export function quantizeRowQ4_0(row: Float32Array, out: Uint8Array, offset: number): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const half = QK / 2;
  for (let b = 0; b < row.length; b += QK) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = row[b + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = Math.fround(max / -8);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    view.setUint16(offset, floatToHalfBits(d), true);
    for (let j = 0; j < half; j++) {
      // C truncates (int8_t)(x + 8.5f); the sum is positive, so truncation is floor.
      const low = Math.min(15, Math.trunc(Math.fround(Math.fround(row[b + j] * id) + 8.5)));
      const high = Math.min(15, Math.trunc(Math.fround(Math.fround(row[b + half + j] * id) + 8.5)));
      out[offset + 2 + j] = low | (high << 4);
    }
    offset += 2 + half;
  }
}
