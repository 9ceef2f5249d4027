import type { WeightTensor } from '../weights/weight-source.js';
import { blockCount, quantizeBlockwise, type QuantBits } from './block-quantizer.js';
import { GraphBuilder, MICROSOFT_DOMAIN } from './graph-builder.js';
import { bytesOf } from './initializer-store.js';
import { DataType } from './proto-factory.js';

/** How the projections (and the tied embedding) are stored: MatMulNBits int4/int8, or fp32 MatMul. */
export interface WeightFormat {
  bits: QuantBits | 32;
  /** Quantization block size along K (ignored for bits 32). */
  blockSize: number;
}

/**
 * MatMulNBits accuracy_level 4: activations are quantized to int8 per block inside the kernel so
 * the int8 dot-product (VNNI/AMX) path runs; DESIGN.md measured it 1.6x-3.8x faster than level 0
 * on this CPU, and it is what the model builder writes for CPU int4 models.
 */
export const ACCURACY_LEVEL = 4;

/**
 * A quantized weight already stored as initializers: their names (so another node, the tied
 * embedding, can share them) and its dims. The bytes themselves are not kept.
 */
export interface QuantizedWeightRef {
  packed: string; // [N, kBlocks, blockSize * bits / 8] uint8
  scales: string; // [N, kBlocks] float32
  n: number;
  k: number;
  bits: QuantBits;
  blockSize: number;
}

/** The initializer name the builder derives from a node path: `/model/layers.0/attn/q_proj` → `model.layers.0.attn.q_proj`. */
export function initializerBase(nodePath: string): string {
  return nodePath.replace(/^\//, '').replaceAll('/', '.');
}

/** Quantizes a Linear weight [out, in] and stores its MatMulNBits initializers. */
export function addQuantizedWeight(g: GraphBuilder, nodePath: string, weight: WeightTensor, bits: QuantBits, blockSize: number): QuantizedWeightRef {
  const [n, k] = weight.dims;
  const quantized = quantizeBlockwise(weight.data, n, k, bits, blockSize);
  const base = `${initializerBase(nodePath)}.MatMul.weight`;
  const kBlocks = blockCount(k, blockSize);
  const packed = g.initializer(`${base}_Q${bits}`, DataType.UINT8, [n, kBlocks, (blockSize * bits) / 8], quantized.packed);
  const scales = g.initializer(`${base}_scales`, DataType.FLOAT, [n, kBlocks], bytesOf(quantized.scales));
  return { packed, scales, n, k, bits, blockSize };
}

/** y = x @ W^T through MatMulNBits over already-stored quantized initializers. */
export function addMatMulNBits(g: GraphBuilder, nodePath: string, input: string, weight: QuantizedWeightRef, outputName?: string): string {
  const { n, k, bits, blockSize } = weight;
  const attributes = { K: k, N: n, bits, block_size: blockSize, accuracy_level: ACCURACY_LEVEL };
  const outputs = outputName ? [outputName] : 1;
  return g.node('MatMulNBits', `${nodePath}/MatMulNBits`, [input, weight.packed, weight.scales], { outputs, attributes, domain: MICROSOFT_DOMAIN })[0];
}

/** Stores W^T [in, out] in fp32 for a plain MatMul (whose B operand is [K, N]). */
export function addTransposedWeight(g: GraphBuilder, nodePath: string, weight: WeightTensor): string {
  const [out, inFeatures] = weight.dims;
  const transposed = new Float32Array(out * inFeatures);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inFeatures; i++) transposed[i * out + o] = weight.data[o * inFeatures + i];
  }
  return g.initializer(`${initializerBase(nodePath)}.MatMul.weight`, DataType.FLOAT, [inFeatures, out], bytesOf(transposed));
}

/**
 * Emits a Linear layer y = x @ W^T for a Hugging Face weight W [out, in] in the chosen format and
 * returns the output name: [.., in] -> [.., out].
 */
export function addProjection(g: GraphBuilder, nodePath: string, input: string, weight: WeightTensor, format: WeightFormat, outputName?: string): string {
  if (format.bits === 32) {
    const b = addTransposedWeight(g, nodePath, weight);
    return g.node('MatMul', `${nodePath}/MatMul`, [input, b], { outputs: outputName ? [outputName] : 1 })[0];
  }
  const stored = addQuantizedWeight(g, nodePath, weight, format.bits, format.blockSize);
  return addMatMulNBits(g, nodePath, input, stored, outputName);
}
