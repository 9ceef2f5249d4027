import { checkKvCache, type KvCache, type KvOutputs, resolveKvOutputs } from './decoder-io.js';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Qwen3Shape } from '../shape.js';
import { expectedWeightDims, type WeightSource } from '../weights/weight-source.js';
import { blockCount } from './block-quantizer.js';
import type { TensorProgress } from './decoder-context.js';
import type { IoPrecision } from './decoder-io.js';
import { ExternalDataStore, InlineInitializerStore, type InitializerStore } from './initializer-store.js';
import type { WeightFormat } from './projection.js';
import { encodeModel } from './proto-factory.js';
import { buildQwen3DecoderGraph, checkWeightFormat, type DecoderGraphOptions } from './qwen3-decoder-graph.js';

export const MODEL_FILE = 'model.onnx';
export const EXTERNAL_DATA_FILE = 'model.onnx.data';
/**
 * The optional second graph for prefill chunks (see OnnxWriteOptions.prefillGraph). The runner
 * opens it when the folder has it; genai_config.json does not name it, so onnxruntime-genai and
 * other loaders see the usual folder.
 */
export const PREFILL_MODEL_FILE = 'prefill.onnx';
export const PREFILL_EXTERNAL_DATA_FILE = 'prefill.onnx.data';

/**
 * Models whose weights exceed this go to external data. Protobuf caps a whole model.onnx at 2 GiB;
 * half a GiB leaves room and keeps every real-shaped export (hundreds of MB and up) in the
 * published layout, model.onnx + model.onnx.data, while test-sized models stay one file.
 */
export const DEFAULT_EXTERNAL_DATA_THRESHOLD = 512 * 1024 * 1024;

export interface OnnxWriteOptions {
  format: WeightFormat;
  /** Element types of ids, KV cache and logits (default fp32). */
  ioPrecision?: IoPrecision;
  /** How the graph returns the KV it computes (default by ioPrecision; see resolveKvOutputs). */
  kvOutputs?: KvOutputs;
  /** How the graphs hold the KV cache (default 'float'; see KvCache). A prefill graph holds it the same way. */
  kvCache?: KvCache;
  /** An int8 cache's key block (default INT8_KEY_BLOCK; see DecoderGraphOptions.int8KeyBlock). */
  int8KeyBlock?: number;
  /** Weights above this many bytes (estimated before writing) go to model.onnx.data. */
  externalDataThresholdBytes?: number;
  /**
   * Also write PREFILL_MODEL_FILE: the same decoder with integer projections over per-row
   * quantized activations ('int8-rows') and logits for the last position only, which runs prefill
   * chunks faster than MatMulNBits (see row-int8-projection.ts), and with an int8 cache its
   * 'dequantized' attention (dequantized-cache-attention.ts). Needs 'new-positions' KV outputs.
   */
  prefillGraph?: boolean;
  onProgress?: TensorProgress;
  metadata?: Record<string, string>;
}

export interface OnnxWriteResult {
  /** Every file written, relative to the folder. */
  files: string[];
  modelPath: string;
  /** null when every weight is inside model.onnx. */
  dataPath: string | null;
  modelBytes: number;
  dataBytes: number;
}

/** Writes `dir/model.onnx` (and `dir/model.onnx.data` for large models) from a checkpoint, and the prefill graph when asked. */
export function writeQwen3Onnx(source: WeightSource, dir: string, options: OnnxWriteOptions): OnnxWriteResult {
  checkWeightFormat(source.shape, options.format);
  checkPrefillGraphOption(options);
  checkKvCache(options.kvCache, options.ioPrecision ?? 'fp32', options.kvOutputs);
  mkdirSync(dir, { recursive: true });
  const threshold = options.externalDataThresholdBytes ?? DEFAULT_EXTERNAL_DATA_THRESHOLD;
  const main = writeGraphFile(source, dir, MODEL_FILE, EXTERNAL_DATA_FILE, estimateWeightBytes(source.shape, options.format) > threshold, options);
  // A prefill graph left by an earlier export into the same folder would otherwise be loaded.
  rmSync(join(dir, PREFILL_MODEL_FILE), { force: true });
  rmSync(join(dir, PREFILL_EXTERNAL_DATA_FILE), { force: true });
  if (!options.prefillGraph) return main;
  // Its layers hold one byte a weight: about what an int8 export of the same shape holds.
  const prefillExternal = estimateWeightBytes(source.shape, { bits: 8, blockSize: options.format.blockSize }) > threshold;
  const prefill = writeGraphFile(source, dir, PREFILL_MODEL_FILE, PREFILL_EXTERNAL_DATA_FILE, prefillExternal, {
    ...options,
    projections: 'int8-rows',
    logits: 'last-position',
    // Prefill chunks attend many new tokens at once: the int8 cache is read head by head in float32.
    int8Attention: 'dequantized',
    metadata: { ...options.metadata, graph_role: 'prefill', projections: 'int8-rows', ...(options.kvCache === 'int8' ? { int8_attention: 'dequantized' } : {}) },
  });
  return {
    ...main,
    files: [...main.files, ...prefill.files],
    modelBytes: main.modelBytes + prefill.modelBytes,
    dataBytes: main.dataBytes + prefill.dataBytes,
  };
}

/** Throws a RangeError when a prefill graph is asked of a graph kind that cannot have one; callers check before writing anything. */
export function checkPrefillGraphOption(options: Pick<OnnxWriteOptions, 'prefillGraph' | 'ioPrecision' | 'kvOutputs'>): void {
  if (options.prefillGraph && resolveKvOutputs(options.ioPrecision ?? 'fp32', options.kvOutputs) === 'present') {
    throw new RangeError("a prefill graph needs 'new-positions' KV outputs: it shares the cache that the main graph's decode steps read and write");
  }
}

function writeGraphFile(
  source: WeightSource,
  dir: string,
  fileName: string,
  dataFileName: string,
  external: boolean,
  options: OnnxWriteOptions & Pick<DecoderGraphOptions, 'projections' | 'logits' | 'int8Attention'>,
): OnnxWriteResult {
  const modelPath = join(dir, fileName);
  const dataPath = join(dir, dataFileName);
  // A data file left by an earlier export into the same folder would otherwise look like ours.
  rmSync(dataPath, { force: true });
  const store: InitializerStore = external ? new ExternalDataStore(dataPath, dataFileName) : new InlineInitializerStore();
  let modelBytes: Uint8Array;
  try {
    const model = buildQwen3DecoderGraph(source, store, options);
    modelBytes = encodeModel(model);
  } finally {
    store.close();
  }
  writeFileSync(modelPath, modelBytes);
  return {
    files: external ? [fileName, dataFileName] : [fileName],
    modelPath,
    dataPath: external ? dataPath : null,
    modelBytes: modelBytes.length,
    dataBytes: external ? statSync(dataPath).size : 0,
  };
}

/**
 * Bytes the weights will take in the given format (the tied embedding counted once, as the LM
 * head's weight, plus the rotary caches); decides inline vs external data before anything is written.
 */
export function estimateWeightBytes(shape: Qwen3Shape, format: WeightFormat): number {
  let total = 2 * shape.maxPositionEmbeddings * (shape.headDim / 2) * 4;
  for (const dims of expectedWeightDims(shape).values()) {
    if (dims.length === 1 || format.bits === 32) {
      total += dims.reduce((a, b) => a * b, 1) * 4;
    } else {
      const [n, k] = dims;
      const kBlocks = blockCount(k, format.blockSize);
      total += n * kBlocks * ((format.blockSize * format.bits) / 8 + 4);
    }
  }
  return total;
}
