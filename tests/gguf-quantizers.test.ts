import { describe, expect, it } from 'vitest';
import { quantizeRowQ4_0, quantizeRowQ8_0 } from '../src/convert/gguf/block-quantizers.js';
import { floatToHalfBits } from '../src/convert/gguf/half-float.js';
import { RandomStream } from '../src/random/random-stream.js';
import { dequantizeQ4_0, dequantizeQ8_0, halfBitsToFloat } from './helpers/gguf-blocks.js';

/** Uniform values in [-scale, scale) from a fixed stream. */
function randomRow(length: number, scale: number, seed: number): Float32Array {
  const rng = RandomStream.fromState(Uint32Array.of(seed, 2, 3, 4));
  return Float32Array.from({ length }, () => ((rng.nextUint32() / 2 ** 32) * 2 - 1) * scale);
}

describe('fp32 -> fp16 (GGUF block scales)', () => {
  it('round-trips every finite half value exactly', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const exponent = (bits >> 10) & 0x1f;
      if (exponent === 31) continue; // Inf and NaN are checked below
      expect(floatToHalfBits(halfBitsToFloat(bits))).toBe(bits === 0x8000 ? 0x8000 : bits);
    }
  });

  it('rounds to the nearest half, ties to even, through subnormals, overflow and NaN', () => {
    expect(floatToHalfBits(1 + 2 ** -11)).toBe(0x3c00); // halfway between 1 and the next half: even (1) wins
    expect(floatToHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway, odd below: rounds up
    expect(floatToHalfBits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // just above halfway
    expect(floatToHalfBits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(floatToHalfBits(2 ** -25)).toBe(0x0000); // halfway to it: even (zero) wins
    expect(floatToHalfBits(1.5 * 2 ** -25)).toBe(0x0001);
    expect(floatToHalfBits(2 ** -14 - 2 ** -25)).toBe(0x0400); // rounds up out of the subnormals
    expect(floatToHalfBits(65504)).toBe(0x7bff);
    expect(floatToHalfBits(65520)).toBe(0x7c00); // rounds past the largest half: Inf
    expect(floatToHalfBits(-Infinity)).toBe(0xfc00);
    expect(floatToHalfBits(NaN) & 0x7c00).toBe(0x7c00);
    expect(floatToHalfBits(NaN) & 0x03ff).not.toBe(0);
  });

  it('picks the nearer neighbour for random values', () => {
    const values = randomRow(2000, 1000, 7);
    for (const v of values) {
      const half = halfBitsToFloat(floatToHalfBits(v));
      const below = halfBitsToFloat(floatToHalfBits(v) - 1);
      const above = halfBitsToFloat(floatToHalfBits(v) + 1);
      expect(Math.abs(v - half)).toBeLessThanOrEqual(Math.min(Math.abs(v - below), Math.abs(v - above)));
    }
  });
});

describe('Q8_0 blocks', () => {
  it('stores d = max|x| / 127 and q = round(x / d), so every value is within d / 2', () => {
    const row = randomRow(128, 0.3, 1);
    const bytes = new Uint8Array(4 * 34);
    quantizeRowQ8_0(row, bytes, 0);
    const back = dequantizeQ8_0(bytes, row.length);
    for (let block = 0; block < 4; block++) {
      const values = row.subarray(block * 32, block * 32 + 32);
      const amax = Math.max(...values.map(Math.abs));
      const d = halfBitsToFloat(new DataView(bytes.buffer).getUint16(block * 34, true));
      expect(Math.abs(d - amax / 127)).toBeLessThanOrEqual((amax / 127) * 2 ** -11); // fp16 keeps 11 significant bits
      const codes = new Int8Array(bytes.buffer, block * 34 + 2, 32);
      // The largest magnitude takes the full code range.
      expect(Math.max(...codes.map(Math.abs))).toBe(127);
      for (let j = 0; j < 32; j++) expect(Math.abs(back[block * 32 + j] - values[j])).toBeLessThanOrEqual(d / 2 + amax * 1e-3);
    }
  });

  it('rounds halves away from zero (C roundf) and writes an all-zero block as zeros', () => {
    // d = 127 / 127 = 1: codes are the values rounded.
    const row = new Float32Array(32);
    row.set([127, 2.5, -2.5, 0.5, -0.5, 1.49]);
    const bytes = new Uint8Array(34);
    quantizeRowQ8_0(row, bytes, 0);
    expect(Array.from(new Int8Array(bytes.buffer, 2, 6))).toEqual([127, 3, -3, 1, -1, 1]);
    const zeros = new Uint8Array(34).fill(0xff);
    quantizeRowQ8_0(new Float32Array(32), zeros, 0);
    expect(Array.from(zeros)).toEqual(new Array(34).fill(0));
  });
});

describe('Q4_0 blocks', () => {
  it('stores d = (value of largest magnitude) / -8 and nibbles q = round(x / d) + 8, first 16 values low', () => {
    const row = new Float32Array(32);
    // max by magnitude is -8 (negative): d = 1, codes are x + 8.
    for (let j = 0; j < 32; j++) row[j] = (j % 16) - 8 + (j >= 16 ? 0.25 : 0);
    row[0] = -8;
    const bytes = new Uint8Array(18);
    quantizeRowQ4_0(row, bytes, 0);
    expect(halfBitsToFloat(new DataView(bytes.buffer).getUint16(0, true))).toBe(1);
    for (let j = 0; j < 16; j++) {
      expect(bytes[2 + j] & 0x0f).toBe(j); // value j = j - 8 -> code j
      expect(bytes[2 + j] >> 4).toBe(j); // value j + 16 = j - 8 + 0.25 rounds to the same code
    }
  });

  it('maps the extreme to code 0, keeps every value within d / 2 and clamps the other end at 15', () => {
    const row = randomRow(256, 0.05, 3);
    const bytes = new Uint8Array(8 * 18);
    quantizeRowQ4_0(row, bytes, 0);
    const back = dequantizeQ4_0(bytes, row.length);
    for (let block = 0; block < 8; block++) {
      const values = Array.from(row.subarray(block * 32, block * 32 + 32));
      const extreme = values.reduce((best, v) => (Math.abs(v) > Math.abs(best) ? v : best), 0);
      const d = halfBitsToFloat(new DataView(bytes.buffer).getUint16(block * 18, true));
      expect(Math.abs(d - extreme / -8)).toBeLessThanOrEqual(Math.abs(extreme / 8) * 2 ** -11);
      for (let j = 0; j < 32; j++) {
        const v = values[j];
        // On the extreme's side the grid reaches -8 d exactly; the other side stops at 7 d.
        const limit = Math.abs(d) / 2 + Math.max(0, Math.abs(v / d) - 7.5) * Math.abs(d) + Math.abs(extreme) * 1e-3;
        expect(Math.abs(back[block * 32 + j] - v)).toBeLessThanOrEqual(limit);
      }
    }
  });
});
