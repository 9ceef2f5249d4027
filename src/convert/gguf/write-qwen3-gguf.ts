import { renameSync, rmSync } from 'node:fs';
import type { TensorProgress } from '../onnx/decoder-context.js';
import type { WeightSource } from '../weights/weight-source.js';
import { quantizeRowQ4_0, quantizeRowQ8_0 } from './block-quantizers.js';
import { GGML_TYPES, ggmlRowBytes, type GgmlTypeName } from './gguf-format.js';
import { writeGgufFile } from './gguf-file-writer.js';
import { qwen3ArchitectureMetadata } from './qwen3-gguf-metadata.js';
import { qwen3GgufTensors, type Qwen3GgufTensor } from './qwen3-gguf-tensors.js';
import { qwen3TokenizerMetadata } from './qwen3-gguf-tokenizer.js';

/** The matrix types a GGUF export can take, by their llama.cpp names (lower case, as on the CLI). */
export const GGUF_WEIGHT_TYPES = { f32: 'F32', q8_0: 'Q8_0', q4_0: 'Q4_0' } as const satisfies Record<string, GgmlTypeName>;
export type GgufWeightType = keyof typeof GGUF_WEIGHT_TYPES;

export interface GgufExportOptions {
  type: GgufWeightType;
  /** general.name, e.g. where the weights came from. */
  name: string;
  /** Called after each checkpoint tensor has been written. */
  onProgress?: TensorProgress;
}

export interface GgufExportResult {
  path: string;
  bytes: number;
  tensors: number;
}

/** Output written per write call: large enough to keep syscalls rare, small next to the model. */
const CHUNK_BYTES = 16 * 1024 * 1024;

/**
 * Writes a qwen3 GGUF that llama.cpp loads, from the same weight source as the ONNX export (a
 * seeded random source gives the same weights to both). One checkpoint tensor is read, converted
 * and written at a time. The file is written under a temporary name and renamed into place at
 * the end, so an interrupted export never leaves a file that looks complete.
 */
export function exportQwen3Gguf(source: WeightSource, path: string, options: GgufExportOptions): GgufExportResult {
  const matrixType = GGUF_WEIGHT_TYPES[options.type];
  checkGgufShape(source, matrixType);
  const tensors = qwen3GgufTensors(source.shape, matrixType);
  const metadata = [...qwen3ArchitectureMetadata(source.shape, options.name, matrixType), ...qwen3TokenizerMetadata(source.shape)];
  const partial = `${path}.partial-${process.pid}`;
  let done = 0;
  try {
    const bytes = writeGgufFile(partial, metadata, tensors, (tensor, write) => {
      writeTensorData(source, tensor as Qwen3GgufTensor, write);
      options.onProgress?.(++done, tensors.length, tensor.name);
    });
    renameSync(partial, path);
    return { path, bytes, tensors: tensors.length };
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
}

/** Fails before anything is written when a matrix row is not whole 32-value blocks. */
function checkGgufShape(source: WeightSource, matrixType: GgmlTypeName): void {
  const { blockValues } = GGML_TYPES[matrixType];
  const { hiddenSize, intermediateSize, numAttentionHeads, headDim } = source.shape;
  const rowLengths = { 'hidden size': hiddenSize, 'intermediate size': intermediateSize, 'attention width (heads x head dim)': numAttentionHeads * headDim };
  for (const [field, length] of Object.entries(rowLengths)) {
    if (length % blockValues !== 0) throw new RangeError(`${matrixType} stores rows in blocks of ${blockValues}: ${field} ${length} is not a multiple of ${blockValues}`);
  }
}

/** One tensor's data in its type, a chunk of rows at a time. */
function writeTensorData(source: WeightSource, tensor: Qwen3GgufTensor, write: (bytes: Uint8Array) => void): void {
  const { data } = source.get(tensor.source);
  const rowValues = tensor.ne[0];
  const rowBytes = ggmlRowBytes(tensor.type, rowValues);
  const rows = data.length / rowValues;
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / rowBytes));
  if (tensor.type === 'F32') {
    // fp32 is stored as is (GGUF is little-endian, as is every platform Node runs on).
    for (let row = 0; row < rows; row += rowsPerChunk) {
      const end = Math.min(rows, row + rowsPerChunk);
      write(new Uint8Array(data.buffer, data.byteOffset + row * rowBytes, (end - row) * rowBytes));
    }
    return;
  }
  const quantizeRow = tensor.type === 'Q8_0' ? quantizeRowQ8_0 : quantizeRowQ4_0;
  const chunk = new Uint8Array(Math.min(rows, rowsPerChunk) * rowBytes);
  for (let row = 0; row < rows; row += rowsPerChunk) {
    const end = Math.min(rows, row + rowsPerChunk);
    for (let r = row; r < end; r++) quantizeRow(data.subarray(r * rowValues, (r + 1) * rowValues), chunk, (r - row) * rowBytes);
    write(chunk.subarray(0, (end - row) * rowBytes));
  }
}
