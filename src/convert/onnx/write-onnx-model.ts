import type { KvOutputs } from './decoder-io.js';
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
import { buildQwen3DecoderGraph, checkWeightFormat } from './qwen3-decoder-graph.js';

export const MODEL_FILE = 'model.onnx';
export const EXTERNAL_DATA_FILE = 'model.onnx.data';

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
  /** Weights above this many bytes (estimated before writing) go to model.onnx.data. */
  externalDataThresholdBytes?: number;
  onProgress?: TensorProgress;
  metadata?: Record<string, string>;
}

export interface OnnxWriteResult {
  modelPath: string;
  /** null when every weight is inside model.onnx. */
  dataPath: string | null;
  modelBytes: number;
  dataBytes: number;
}

/** Writes `dir/model.onnx` (and `dir/model.onnx.data` for large models) from a checkpoint. */
export function writeQwen3Onnx(source: WeightSource, dir: string, options: OnnxWriteOptions): OnnxWriteResult {
  checkWeightFormat(source.shape, options.format);
  mkdirSync(dir, { recursive: true });
  const modelPath = join(dir, MODEL_FILE);
  const dataPath = join(dir, EXTERNAL_DATA_FILE);
  const threshold = options.externalDataThresholdBytes ?? DEFAULT_EXTERNAL_DATA_THRESHOLD;
  const external = estimateWeightBytes(source.shape, options.format) > threshold;
  // A data file left by an earlier export into the same folder would otherwise look like ours.
  rmSync(dataPath, { force: true });
  const store: InitializerStore = external ? new ExternalDataStore(dataPath, EXTERNAL_DATA_FILE) : new InlineInitializerStore();
  let modelBytes: Uint8Array;
  try {
    const model = buildQwen3DecoderGraph(source, store, options);
    modelBytes = encodeModel(model);
  } finally {
    store.close();
  }
  writeFileSync(modelPath, modelBytes);
  return {
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
