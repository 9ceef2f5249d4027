import { halfToFloat } from '../../src/model/runner/fp16.js';

/**
 * Dequantizers written from the block formats' definitions, independent of the writer's
 * quantizers: d (fp16) * q for Q8_0, d * (nibble - 8) for Q4_0 with value j in the low nibble of
 * byte j and value j + 16 in its high nibble.
 */
export function dequantizeQ8_0(bytes: Uint8Array, values: number): Float32Array {
  const out = new Float32Array(values);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let block = 0; block < values / 32; block++) {
    const base = block * 34;
    const d = halfBitsToFloat(view.getUint16(base, true));
    for (let j = 0; j < 32; j++) out[block * 32 + j] = d * view.getInt8(base + 2 + j);
  }
  return out;
}

export function dequantizeQ4_0(bytes: Uint8Array, values: number): Float32Array {
  const out = new Float32Array(values);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let block = 0; block < values / 32; block++) {
    const base = block * 18;
    const d = halfBitsToFloat(view.getUint16(base, true));
    for (let j = 0; j < 16; j++) {
      const byte = bytes[base + 2 + j];
      out[block * 32 + j] = d * ((byte & 0x0f) - 8);
      out[block * 32 + 16 + j] = d * ((byte >> 4) - 8);
    }
  }
  return out;
}

export function halfBitsToFloat(bits: number): number {
  return halfToFloat(Uint16Array.of(bits), new Float32Array(1))[0];
}
