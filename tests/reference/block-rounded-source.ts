import type { WeightSource, WeightTensor } from '../../src/convert/weights/weight-source.js';

/** The weight format of a quantized export: bits per weight and values per block along K. */
export interface BlockQuantization {
  bits: 4 | 8;
  blockSize: number;
}

/**
 * A view of a weight source whose matrices (every 2-D tensor: projections, embedding, LM head)
 * are rounded the way a symmetric block-quantized export stores them, then widened back to fp32;
 * norm weights pass through. Running the reference pass on it gives what a correct quantized
 * graph should compute, separating "the graph is wrong" from "the weights were rounded".
 *
 * The rounding is written from the MatMulNBits definition, not taken from the exporter: each row
 * of W [N, K] is cut into blocks of `blockSize` along K; a block stores codes c in
 * [0, 2^bits - 1] and one fp32 scale, and means (c - 2^(bits-1)) * scale (the op's default zero
 * point). The scale is onnxruntime's symmetric choice: the block's value of largest magnitude m,
 * with its sign, divided by -2^(bits-1), so m itself is code 0 exactly.
 */
export function blockRoundedSource(source: WeightSource, quantization: BlockQuantization): WeightSource {
  return {
    shape: source.shape,
    get(name: string): WeightTensor {
      const tensor = source.get(name);
      if (tensor.dims.length !== 2) return tensor;
      return { dims: tensor.dims, data: roundBlocks(tensor.data, tensor.dims[1], quantization) };
    },
    close: () => source.close(),
  };
}

/** Rounds each row of w [rows, k] block by block; a short last block covers the rest of the row. */
function roundBlocks(w: Float32Array, k: number, { bits, blockSize }: BlockQuantization): Float32Array {
  const zeroPoint = 1 << (bits - 1);
  const maxCode = (1 << bits) - 1;
  const out = new Float32Array(w.length);
  for (let rowStart = 0; rowStart < w.length; rowStart += k) {
    for (let start = rowStart; start < rowStart + k; start += blockSize) {
      const end = Math.min(start + blockSize, rowStart + k);
      let extreme = 0;
      for (let i = start; i < end; i++) if (Math.abs(w[i]) > Math.abs(extreme)) extreme = w[i];
      const scale = Math.fround(extreme / -zeroPoint); // stored as fp32
      for (let i = start; i < end; i++) {
        const code = scale === 0 ? zeroPoint : Math.min(maxCode, Math.max(0, Math.round(w[i] / scale) + zeroPoint));
        out[i] = (code - zeroPoint) * scale;
      }
    }
  }
  return out;
}
