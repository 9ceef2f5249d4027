import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exportQwen3Gguf, type GgufWeightType } from '../../src/convert/gguf/write-qwen3-gguf.js';
import { describeFormat, exportQwen3Model } from '../../src/convert/export/export-model.js';
import { stderrTensorProgress } from '../../src/convert/export/export-progress.js';
import type { KvCache } from '../../src/convert/onnx/decoder-io.js';
import type { WeightFormat } from '../../src/convert/onnx/projection.js';
import { PRESETS, type PresetName } from '../../src/convert/shape.js';
import { createRandomWeightSource } from '../../src/convert/weights/random-source.js';

/** A benchmark model: a preset's shape with seeded random weights in one weight format. */
export interface BenchModelSpec {
  preset: PresetName;
  format: WeightFormat;
  seed: number;
  /** Also export the int8 prefill graph (export --prefill-graph). */
  prefillGraph?: boolean;
  /** How the export holds the KV cache (export --kv-cache; default float). */
  kvCache?: KvCache;
}

/** Where benchmark exports are cached by default (gitignored). */
export const DEFAULT_MODEL_CACHE = 'models';

/** Written last into a finished export; a folder without it is incomplete and is redone. */
const COMPLETE_MARKER = 'bench-export.json';

/**
 * Bumped whenever the exporter writes different graphs for the same spec, so that a cached export
 * from before the change is written again instead of measured as if it were current. 2: the
 * prefill graph reads an int8 cache dequantized (dequantized-cache-attention.ts). 3: an int8
 * cache's keys in blocks of 256 positions (int8-cache-attention.ts). 4: probability codes cast to
 * uint8 before they are joined (addProbabilityCodes).
 */
export const BENCH_EXPORT_REVISION = 4;

/** Whether `dir` holds a finished export of the current revision. */
function isCurrentExport(dir: string): boolean {
  const marker = join(dir, COMPLETE_MARKER);
  if (!existsSync(marker)) return false;
  try {
    return (JSON.parse(readFileSync(marker, 'utf8')) as { revision?: number }).revision === BENCH_EXPORT_REVISION;
  } catch {
    return false;
  }
}

/** Short name of a spec, also its cache folder: e.g. `qwen3-4b-int4-b128-seed0`. */
export function benchModelName(spec: BenchModelSpec): string {
  const format = spec.format.bits === 32 ? 'fp32' : `int${spec.format.bits}-b${spec.format.blockSize}`;
  return `${spec.preset}-${format}-seed${spec.seed}${spec.prefillGraph ? '-prefill' : ''}${spec.kvCache === 'int8' ? '-kv8' : ''}`;
}

/**
 * The folder of a cached benchmark export, exporting it first when absent (the qwen3-4b preset
 * takes minutes and 2-5 GB). The export goes to a staging folder renamed into place at the end,
 * so an interrupted run never leaves a folder that looks complete. With `log`, the export says
 * what it does and shows the writer's progress on stderr; without, it is silent (tests).
 */
export function ensureBenchModel(spec: BenchModelSpec, cacheDir = DEFAULT_MODEL_CACHE, log?: (line: string) => void): string {
  const dir = resolve(cacheDir, benchModelName(spec));
  if (isCurrentExport(dir)) return dir;
  const staging = `${dir}.staging-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(cacheDir, { recursive: true });
  log?.(`exporting ${benchModelName(spec)} (${describeFormat(spec.format)}) to ${dir}; the 4B preset takes several minutes`);
  const started = performance.now();
  const source = createRandomWeightSource(PRESETS[spec.preset], spec.seed);
  try {
    exportQwen3Model(source, staging, { format: spec.format, prefillGraph: spec.prefillGraph, kvCache: spec.kvCache, quiet: !log, metadata: { weights: `random seed ${spec.seed}` } });
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  } finally {
    source.close();
  }
  writeFileSync(join(staging, COMPLETE_MARKER), `${JSON.stringify({ ...spec, revision: BENCH_EXPORT_REVISION, exportSeconds: (performance.now() - started) / 1000 })}\n`);
  renameSync(staging, dir);
  return dir;
}

/** The llama.cpp peer of a benchmark model: the same preset and seed as a GGUF of one matrix type. */
export interface BenchGgufSpec {
  preset: PresetName;
  type: GgufWeightType;
  seed: number;
}

/** File name of a GGUF spec in the cache, e.g. `qwen3-4b-q4_0-seed0.gguf`. */
export function benchGgufName(spec: BenchGgufSpec): string {
  return `${spec.preset}-${spec.type}-seed${spec.seed}.gguf`;
}

/**
 * The cached GGUF of a spec, next to the ONNX exports, written first when absent (the qwen3-4b
 * preset takes minutes). The writer renames the file into place only when it is complete, so a
 * file under this name is always whole.
 */
export function ensureBenchGguf(spec: BenchGgufSpec, cacheDir = DEFAULT_MODEL_CACHE, log?: (line: string) => void): string {
  const path = resolve(cacheDir, benchGgufName(spec));
  if (existsSync(path)) return path;
  mkdirSync(cacheDir, { recursive: true });
  log?.(`exporting ${benchGgufName(spec)} for llama.cpp to ${path}; the 4B preset takes several minutes`);
  const source = createRandomWeightSource(PRESETS[spec.preset], spec.seed);
  const progress = log ? stderrTensorProgress() : null;
  try {
    exportQwen3Gguf(source, path, { type: spec.type, name: `qwen3-serve bench ${spec.preset} random seed ${spec.seed}`, onProgress: progress?.onProgress });
  } finally {
    progress?.stop();
    source.close();
  }
  return path;
}

/**
 * Bytes of the weights a decode step reads: the ONNX graph plus its external data. The tied
 * embedding is stored once and read in full once per step (as the LM head; the embedding gather
 * touches one row per token), so the folder's weight bytes are the step's weight traffic.
 */
export function modelWeightBytes(dir: string): number {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.onnx') || name.endsWith('.onnx.data'))
    .reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}
