import { endianness } from 'node:os';

/** The safetensors dtypes a Qwen3 checkpoint's weights may be stored in, all widened to fp32. */
export const SUPPORTED_SAFETENSORS_DTYPES = ['BF16', 'F16', 'F32'] as const;
export type SupportedSafetensorsDtype = (typeof SUPPORTED_SAFETENSORS_DTYPES)[number];

export function isSupportedSafetensorsDtype(dtype: string): dtype is SupportedSafetensorsDtype {
  return (SUPPORTED_SAFETENSORS_DTYPES as readonly string[]).includes(dtype);
}

export const SAFETENSORS_DTYPE_BYTES: Record<SupportedSafetensorsDtype, number> = { BF16: 2, F16: 2, F32: 4 };

// safetensors stores little-endian values and the conversions below reinterpret bytes through
// typed arrays, which use the host's byte order; every platform Node ships for is little-endian.
if (endianness() !== 'LE') throw new Error('safetensors: reading checkpoints needs a little-endian host');

/**
 * Widens raw little-endian tensor bytes to fp32. `bytes` must start at a byte offset aligned to
 * the element size (a fresh Uint8Array is); BF16 and F16 convert exactly (every value of both
 * formats is representable in fp32).
 */
export function decodeSafetensorsData(bytes: Uint8Array, dtype: SupportedSafetensorsDtype): Float32Array {
  const elementBytes = SAFETENSORS_DTYPE_BYTES[dtype];
  if (bytes.byteLength % elementBytes !== 0) {
    throw new Error(`safetensors: ${bytes.byteLength} bytes is not a whole number of ${dtype} values`);
  }
  if (bytes.byteOffset % elementBytes !== 0) throw new Error('safetensors: tensor bytes are misaligned');
  const count = bytes.byteLength / elementBytes;
  switch (dtype) {
    case 'F32':
      return new Float32Array(bytes.buffer, bytes.byteOffset, count);
    case 'BF16': {
      // bfloat16 is the upper half of an fp32: shifting its bits up 16 places is the conversion.
      const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
      const out = new Float32Array(count);
      const outBits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) outBits[i] = halves[i] << 16;
      return out;
    }
    case 'F16': {
      const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
      const table = halfToFloatTable();
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = table[halves[i]];
      return out;
    }
  }
}

let cachedHalfTable: Float32Array | undefined;

/** All 65536 IEEE half-precision values as fp32, indexed by bit pattern (256 KiB, built once). */
function halfToFloatTable(): Float32Array {
  if (!cachedHalfTable) {
    cachedHalfTable = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) cachedHalfTable[bits] = halfBitsToNumber(bits);
  }
  return cachedHalfTable;
}

/** IEEE 754 binary16: 1 sign bit, 5 exponent bits (bias 15), 10 fraction bits. */
export function halfBitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
