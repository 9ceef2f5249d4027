import type { WeightTensor } from '../weights/weight-source.js';
import { type GraphBuilder, MICROSOFT_DOMAIN } from './graph-builder.js';
import { bytesOf } from './initializer-store.js';
import { initializerBase } from './projection.js';
import { DataType } from './proto-factory.js';

/**
 * Linear layers as integer matrix products, for the graph that runs wide steps (prefill chunks):
 * activations quantized to uint8 per row, weights to signed 7-bit per output column, multiplied by
 * `com.microsoft::MatMulIntegerToFloat` (onnxruntime's u8s8 GEMM, whose kernel is picked at run
 * time: AVX2, AVX-VNNI/AVX512-VNNI, or AMX where the CPU has it).
 *
 * Why this path for wide steps: MatMulNBits dequantizes each weight block for every two rows, so it
 * stays compute bound as rows grow; the integer GEMM reuses packed weights across the whole tile.
 * Measured on a 2-core AVX2 EPYC at K 2560 x N 9728 (loadtest/matmul-kernel-probe.ts): 2-4x
 * MatMulNBits int4 at M = 8-512.
 *
 * Invariants:
 * - **Per-row activation scales.** Each row (token) gets its own scale, maxAbs / 127, and zero
 *   point 128; the integer products are exact, so a row's result depends on that row alone, never on
 *   how many rows share the step (batch invariance).
 * - **7-bit weights.** On CPUs without VNNI the u8s8 kernel sums adjacent u8 x s8 products into
 *   int16 (vpmaddubsw), which saturates past 32767: 255 x 127 x 2 does, 255 x 63 x 2 does not.
 *   The export cannot know the CPU it will run on, so codes stay within [-63, 63] everywhere
 *   (onnxruntime's quantizer calls this reduce_range).
 */
export const WEIGHT_CODE_MAX = 63;
const ACTIVATION_CODE_MAX = 127;
const ACTIVATION_ZERO_POINT = 128;

/** A weight W [out, in] as MatMulIntegerToFloat's B: codes [in, out] int8 and one scale per output column. */
export interface ColumnQuantized {
  codes: Int8Array; // [K, N]
  scales: Float32Array; // [N]
}

/** Symmetric per-output-column quantization of W [N, K] to codes in [-WEIGHT_CODE_MAX, WEIGHT_CODE_MAX], transposed to [K, N]. */
export function quantizePerColumn(weight: Float32Array, n: number, k: number): ColumnQuantized {
  const codes = new Int8Array(k * n);
  const scales = new Float32Array(n);
  for (let col = 0; col < n; col++) {
    let maxAbs = 0;
    for (let i = 0; i < k; i++) maxAbs = Math.max(maxAbs, Math.abs(weight[col * k + i]));
    // Rounded to fp32 first, so codes are computed with exactly the scale the runtime multiplies by.
    const scale = Math.fround(maxAbs / WEIGHT_CODE_MAX);
    scales[col] = scale;
    if (scale === 0) continue;
    for (let i = 0; i < k; i++) codes[i * n + col] = Math.round(weight[col * k + i] / scale);
  }
  return { codes, scales };
}

/** A row-quantized activation: uint8 codes and the per-row scale [.., 1] that restores it. */
export interface QuantizedActivation {
  codes: string; // uint8 [.., K]
  rowScales: string; // float32 [.., 1]
}

/** Symmetric per-row codes of a float tensor, still float (whole numbers in [-codeMax, codeMax]), and their scales [.., 1]. */
export interface RowCodes {
  codes: string;
  scales: string;
}

/**
 * Emits codes round(x / s) with s = max(|x| over the last axis) / codeMax per row. A row of zeros
 * gets the smallest normal scale instead of 0, so the division stays finite. `scaleOutput` names
 * the scales as a graph output.
 */
export function addSymmetricRowCodes(g: GraphBuilder, nodePath: string, x: string, codeMax: number, scaleOutput?: string): RowCodes {
  const maxAbs = g.op('ReduceMax', `${nodePath}/ReduceMax`, [g.op('Abs', `${nodePath}/Abs`, [x])], { axes: [-1], keepdims: 1 });
  const scales = g.node('Max', `${nodePath}/Max`, [g.op('Div', `${nodePath}/scale`, [maxAbs, g.float32(codeMax)]), g.float32(1.1754943508222875e-38)], {
    outputs: scaleOutput ? [scaleOutput] : 1,
  })[0];
  const codes = g.op('Round', `${nodePath}/Round`, [g.op('Div', `${nodePath}/Div`, [x, scales])]);
  return { codes, scales };
}

/** Emits x -> (round(x / s) + 128) as uint8 with s = max(|x| over the last axis) / 127 per row. */
export function addRowQuantization(g: GraphBuilder, nodePath: string, x: string): QuantizedActivation {
  const { codes, scales } = addSymmetricRowCodes(g, nodePath, x, ACTIVATION_CODE_MAX);
  const centred = g.op('Add', `${nodePath}/Add`, [codes, g.float32(ACTIVATION_ZERO_POINT)]);
  return { codes: g.op('Cast', `${nodePath}/Cast`, [centred], { to: DataType.UINT8 }), rowScales: scales };
}

/** y = x @ W^T from a row-quantized x: MatMulIntegerToFloat with the column scales, then the row scales. */
export function addRowInt8Projection(g: GraphBuilder, nodePath: string, x: QuantizedActivation, weight: WeightTensor, outputName?: string): string {
  const [n, k] = weight.dims;
  const quantized = quantizePerColumn(weight.data, n, k);
  const base = `${initializerBase(nodePath)}.MatMul.weight`;
  const codes = g.initializer(`${base}_Q7`, DataType.INT8, [k, n], new Uint8Array(quantized.codes.buffer));
  const scales = g.initializer(`${base}_column_scales`, DataType.FLOAT, [n], bytesOf(quantized.scales));
  // a_scale 1: the row scales differ per row, which the op's per-tensor a_scale cannot express.
  const columnScaled = g.node('MatMulIntegerToFloat', `${nodePath}/MatMulIntegerToFloat`, [x.codes, codes, g.float32(1), scales, g.uint8(ACTIVATION_ZERO_POINT)], { domain: MICROSOFT_DOMAIN })[0];
  return g.node('Mul', `${nodePath}/row_scale`, [columnScaled, x.rowScales], { outputs: outputName ? [outputName] : 1 })[0];
}
