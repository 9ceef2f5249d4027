import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { exportQwen3Model } from '../src/convert/export/export-model.js';
import { PRESETS } from '../src/convert/shape.js';
import { createRandomWeightSource } from '../src/convert/weights/random-source.js';
import type { WeightFormat } from '../src/convert/onnx/projection.js';

declare module 'vitest' {
  export interface ProvidedContext {
    tinyModels: TinyModels;
  }
}

/**
 * The tiny models tests run against (tests/helpers/models.ts hands them to test files). This
 * module must not import 'vitest' itself: global setup runs outside the test workers.
 */
export const TINY_MODEL_SEED = 1;

export const TINY_MODEL_FORMATS = {
  int4: { bits: 4, blockSize: 32 },
  int8: { bits: 8, blockSize: 32 },
  fp32: { bits: 32, blockSize: 32 },
} as const satisfies Record<string, WeightFormat>;

export type TinyModelFormat = keyof typeof TINY_MODEL_FORMATS;

/** What global setup provides to test files: one exported folder per format. */
export interface TinyModels {
  preset: 'tiny';
  seed: number;
  dirs: Record<TinyModelFormat, string>;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cacheRoot = join(root, '.vitest-cache', 'models');
/** Everything whose change changes the exported bytes. */
const WRITER_SOURCES = ['src/convert/onnx', 'src/convert/export', 'src/convert/weights/random-source.ts', 'src/convert/weights/weight-source.ts', 'src/convert/shape.ts'];
const COMPLETE_MARKER = 'complete.json';

/**
 * Exports the tiny preset in every test format into .vitest-cache/models/<key>/, where the key
 * hashes the writer's source files and the export options: a second run with an unchanged writer
 * reuses the folders (a few ms), a changed writer re-exports (about a second per format).
 * Exports are written to a private temporary folder and renamed into place, so test runs started
 * side by side never see a half-written model.
 */
export default function setup(project: TestProject): void {
  const options = { preset: 'tiny' as const, seed: TINY_MODEL_SEED, formats: TINY_MODEL_FORMATS };
  const key = cacheKey(options);
  const dir = join(cacheRoot, key);
  if (!existsSync(join(dir, COMPLETE_MARKER))) exportAll(dir, options);
  pruneStaleExports(key);
  const dirs = Object.fromEntries(Object.keys(TINY_MODEL_FORMATS).map((format) => [format, join(dir, format)])) as Record<TinyModelFormat, string>;
  project.provide('tinyModels', { preset: 'tiny', seed: TINY_MODEL_SEED, dirs });
}

function exportAll(dir: string, options: { seed: number; formats: typeof TINY_MODEL_FORMATS }): void {
  const staging = `${dir}.staging-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  for (const [name, format] of Object.entries(options.formats)) {
    const source = createRandomWeightSource(PRESETS.tiny, options.seed);
    try {
      exportQwen3Model(source, join(staging, name), { format, quiet: true, metadata: { weights: `random seed ${options.seed}` } });
    } finally {
      source.close();
    }
  }
  writeFileSync(join(staging, COMPLETE_MARKER), `${JSON.stringify(options)}\n`);
  try {
    renameSync(staging, dir);
  } catch (err) {
    // Another run finished the same export first: theirs is identical, keep it.
    if (!existsSync(join(dir, COMPLETE_MARKER))) throw err;
    rmSync(staging, { recursive: true, force: true });
  }
}

function cacheKey(options: unknown): string {
  const hash = createHash('sha256').update(JSON.stringify(options));
  for (const file of WRITER_SOURCES.flatMap((path) => listFiles(join(root, path))).sort()) {
    hash.update(relative(root, file)).update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

function listFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((entry) => listFiles(join(path, entry)));
}

/** Removes exports of other writer versions once they are an hour old (a parallel run may still use a fresh one). */
function pruneStaleExports(currentKey: string): void {
  mkdirSync(cacheRoot, { recursive: true });
  const hourAgo = Date.now() - 3_600_000;
  for (const entry of readdirSync(cacheRoot)) {
    if (entry === currentKey) continue;
    const path = join(cacheRoot, entry);
    if (statSync(path).mtimeMs < hourAgo) rmSync(path, { recursive: true, force: true });
  }
}
