/**
 * Block-wise round-to-nearest weight quantization in the layout of `com.microsoft::MatMulNBits`
 * (and of `GatherBlockQuantized` over uint8 data, which reads the same bytes as [N, K * bits / 8]).
 *
 * A weight W [N, K] (a Hugging Face Linear weight [out, in]) is cut along K into blocks of
 * `blockSize` values. Each block stores one float scale and `blockSize * bits / 8` bytes of codes;
 * it is symmetric, so no zero_points input is written and both ops use their default zero point
 * 2^(bits-1) (8 for int4, 128 for int8):  W[n, k] ≈ (code - 2^(bits-1)) * scale[n, k / blockSize].
 *
 * The scale is signed, as in onnxruntime's MLAS quantizer (and the genai model builder's default
 * symmetric mode): scale = m / -2^(bits-1), where m is the block value of largest magnitude with its
 * sign. That block value maps exactly to code 0, so the full code range [-2^(bits-1), 2^(bits-1)-1]
 * is used, one level more than the textbook maxAbs / (2^(bits-1) - 1).
 */
export type QuantBits = 4 | 8;

export interface BlockQuantized {
  bits: QuantBits;
  blockSize: number;
  /** Output features (rows of W). */
  n: number;
  /** Input features (columns of W). */
  k: number;
  /** [N, kBlocks, blockSize * bits / 8] codes, low bits first within each byte. */
  packed: Uint8Array;
  /** [N, kBlocks] */
  scales: Float32Array;
}

export function blockCount(k: number, blockSize: number): number {
  return Math.ceil(k / blockSize);
}

export function assertBlockSize(blockSize: number): void {
  if (!Number.isInteger(blockSize) || blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) {
    throw new RangeError(`block size must be a power of two >= 16, got ${blockSize}`);
  }
}

/**
 * Quantizes W [N, K] (row-major). Values past K in the last block of a row (when K is not a
 * multiple of blockSize) are encoded as 0.
 */
export function quantizeBlockwise(weight: Float32Array, n: number, k: number, bits: QuantBits, blockSize: number): BlockQuantized {
  assertBlockSize(blockSize);
  if (weight.length !== n * k) throw new RangeError(`weight has ${weight.length} values, expected ${n} x ${k}`);
  const kBlocks = blockCount(k, blockSize);
  const blobBytes = (blockSize * bits) / 8;
  const packed = new Uint8Array(n * kBlocks * blobBytes);
  const scales = new Float32Array(n * kBlocks);
  const zeroPoint = 1 << (bits - 1);
  const maxCode = (1 << bits) - 1;
  for (let row = 0; row < n; row++) {
    const rowStart = row * k;
    for (let block = 0; block < kBlocks; block++) {
      const start = rowStart + block * blockSize;
      const end = Math.min(start + blockSize, rowStart + k);
      let extreme = 0;
      for (let i = start; i < end; i++) {
        if (Math.abs(weight[i]) > Math.abs(extreme)) extreme = weight[i];
      }
      // Rounded to fp32 before use, so encoding divides by exactly the scale the runtime multiplies
      // by; an all-zero block gets +0 (0 / -8 would be -0).
      const scale = extreme === 0 ? 0 : Math.fround(extreme / -zeroPoint);
      const inverse = scale === 0 ? 0 : 1 / scale;
      scales[row * kBlocks + block] = scale;
      const blobStart = (row * kBlocks + block) * blobBytes;
      for (let j = 0; j < blockSize; j++) {
        const value = start + j < end ? weight[start + j] : 0;
        const code = Math.min(maxCode, Math.max(0, Math.round(value * inverse) + zeroPoint));
        if (bits === 8) {
          packed[blobStart + j] = code;
        } else {
          packed[blobStart + (j >> 1)] |= (j & 1) === 0 ? code : code << 4;
        }
      }
    }
  }
  return { bits, blockSize, n, k, packed, scales };
}

/** The fp32 matrix [N, K] that the runtime computes with: (code - zero point) * scale. */
export function dequantizeBlockwise(q: BlockQuantized): Float32Array {
  const { n, k, bits, blockSize } = q;
  const kBlocks = blockCount(k, blockSize);
  const blobBytes = (blockSize * bits) / 8;
  const zeroPoint = 1 << (bits - 1);
  const out = new Float32Array(n * k);
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < k; col++) {
      const block = Math.floor(col / blockSize);
      const j = col % blockSize;
      const blobStart = (row * kBlocks + block) * blobBytes;
      const code = bits === 8 ? q.packed[blobStart + j] : (q.packed[blobStart + (j >> 1)] >> ((j & 1) * 4)) & 0xf;
      out[row * k + col] = (code - zeroPoint) * q.scales[row * kBlocks + block];
    }
  }
  return out;
}
