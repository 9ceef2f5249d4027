import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkKvCache, type IoPrecision, type KvCache, type KvOutputs, resolveKvOutputs } from '../onnx/decoder-io.js';
import type { WeightFormat } from '../onnx/projection.js';
import { checkWeightFormat } from '../onnx/qwen3-decoder-graph.js';
import { checkPrefillGraphOption, MODEL_FILE, type OnnxWriteResult, writeQwen3Onnx } from '../onnx/write-onnx-model.js';
import type { WeightSource } from '../weights/weight-source.js';
import { stderrTensorProgress } from './export-progress.js';
import { genaiConfigJson } from './genai-config.js';
import { qwen3ConfigJson, qwen3GenerationConfigJson } from './hf-configs.js';
import { copyTokenizerFiles, TOKENIZER_FILES } from './tokenizer-files.js';

export interface ExportOptions {
  format: WeightFormat;
  /** Element types of ids, KV cache and logits: fp32 (default) or the model builder's fp16 layout (see IoPrecision). */
  ioPrecision?: IoPrecision;
  /**
   * genai_config.json also names a `position_ids` input, which the graph does not have, as the
   * model builder's own genai-tiny-qwen2 test model does: for tests of loaders that must trust the
   * session's input metadata over the config. Off by default.
   */
  listPositionIdsInConfig?: boolean;
  /** How the graph returns the KV it computes (default by ioPrecision; see resolveKvOutputs). */
  kvOutputs?: KvOutputs;
  /** How the graph holds the KV cache (default 'float'; see KvCache). */
  kvCache?: KvCache;
  /** Also write the int8 prefill graph (see OnnxWriteOptions.prefillGraph). */
  prefillGraph?: boolean;
  /** An int8 cache's key block (default INT8_KEY_BLOCK; 0: the layout of exports before blocks, for comparisons). */
  int8KeyBlock?: number;
  /** Weights above this many bytes go to model.onnx.data (default: DEFAULT_EXTERNAL_DATA_THRESHOLD). */
  externalDataThresholdBytes?: number;
  /** No progress bar on stderr (tests, scripts). */
  quiet?: boolean;
  /** Extra model metadata_props, e.g. where the weights came from. */
  metadata?: Record<string, string>;
}

export interface ExportResult {
  dir: string;
  /** Every file written, relative to dir. */
  files: string[];
  modelBytes: number;
  dataBytes: number;
}

/**
 * Writes a complete model folder in the onnxruntime-genai layout: model.onnx (+ model.onnx.data),
 * genai_config.json, config.json, generation_config.json and the Qwen3 tokenizer files. The
 * folder's contents depend only on the weights and options, so equal inputs give identical bytes.
 */
export function exportQwen3Model(source: WeightSource, outDir: string, options: ExportOptions): ExportResult {
  // Before the folder exists: a shape the format cannot hold leaves nothing behind.
  checkWeightFormat(source.shape, options.format);
  resolveKvOutputs(options.ioPrecision ?? 'fp32', options.kvOutputs);
  checkPrefillGraphOption(options);
  checkKvCache(options.kvCache, options.ioPrecision ?? 'fp32', options.kvOutputs);
  mkdirSync(outDir, { recursive: true });
  const written = writeOnnxWithProgress(source, outDir, options);
  const { shape } = source;
  writeJson(join(outDir, 'genai_config.json'), genaiConfigJson(shape, MODEL_FILE, { listPositionIds: options.listPositionIdsInConfig ?? false }));
  writeJson(join(outDir, 'config.json'), qwen3ConfigJson(shape));
  writeJson(join(outDir, 'generation_config.json'), qwen3GenerationConfigJson(shape));
  copyTokenizerFiles(outDir);
  const files = [...written.files, 'genai_config.json', 'config.json', 'generation_config.json', ...TOKENIZER_FILES];
  return { dir: outDir, files, modelBytes: written.modelBytes, dataBytes: written.dataBytes };
}

function writeOnnxWithProgress(source: WeightSource, outDir: string, options: ExportOptions): OnnxWriteResult {
  const progress = options.quiet ? null : stderrTensorProgress();
  try {
    return writeQwen3Onnx(source, outDir, {
      format: options.format,
      ioPrecision: options.ioPrecision,
      kvOutputs: options.kvOutputs,
      kvCache: options.kvCache,
      prefillGraph: options.prefillGraph,
      int8KeyBlock: options.int8KeyBlock,
      externalDataThresholdBytes: options.externalDataThresholdBytes,
      onProgress: progress?.onProgress,
      metadata: { weight_format: describeFormat(options.format), kv_outputs: resolveKvOutputs(options.ioPrecision ?? 'fp32', options.kvOutputs), kv_cache: options.kvCache ?? 'float', ...options.metadata },
    });
  } finally {
    progress?.stop();
  }
}

export function describeFormat(format: WeightFormat): string {
  return format.bits === 32 ? 'fp32' : `int${format.bits} block ${format.blockSize}`;
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 4)}\n`);
}
