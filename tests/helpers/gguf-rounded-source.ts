import { quantizeRowQ4_0, quantizeRowQ8_0 } from '../../src/convert/gguf/block-quantizers.js';
import type { WeightSource, WeightTensor } from '../../src/convert/weights/weight-source.js';
import { dequantizeQ4_0, dequantizeQ8_0 } from './gguf-blocks.js';

/**
 * A view of a weight source whose matrices are what a Q8_0 or Q4_0 GGUF stores: each row
 * quantized by the writer's quantizer and widened back by the tests' own dequantizer; norm weights
 * pass through. The reference pass on it computes what llama.cpp should compute from the file
 * (up to its own activation rounding), so a wrong block layout (nibble order, scale placement)
 * shows as disagreement even where quantization noise would hide it against the fp32 weights.
 */
export function ggufRoundedSource(source: WeightSource, type: 'q8_0' | 'q4_0'): WeightSource {
  const [quantize, dequantize, blockBytes] = type === 'q8_0' ? [quantizeRowQ8_0, dequantizeQ8_0, 34] : [quantizeRowQ4_0, dequantizeQ4_0, 18];
  return {
    shape: source.shape,
    get(name: string): WeightTensor {
      const tensor = source.get(name);
      if (tensor.dims.length !== 2) return tensor;
      const k = tensor.dims[1];
      const rows = tensor.data.length / k;
      const bytes = new Uint8Array(rows * (k / 32) * blockBytes);
      for (let r = 0; r < rows; r++) quantize(tensor.data.subarray(r * k, (r + 1) * k), bytes, r * (k / 32) * blockBytes);
      return { dims: tensor.dims, data: dequantize(bytes, tensor.data.length) };
    },
    close: () => source.close(),
  };
}
