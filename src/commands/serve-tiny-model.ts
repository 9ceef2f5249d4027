import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { exportQwen3Model } from '../convert/export/export-model.js';
import { PRESETS } from '../convert/shape.js';
import { createRandomWeightSource } from '../convert/weights/random-source.js';

/** The built-in model's seed; any fixed value gives every install the same test model. */
const TINY_MODEL_SEED = 0;
/** Written last: a folder without it is a half-finished export and is redone. */
const COMPLETE_MARKER = '.complete';

/** Where `serve` keeps the built-in test model: $XDG_CACHE_HOME or ~/.cache, under qwen3-serve/. */
export function builtInTinyModelDir(): string {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'qwen3-serve', 'tiny-int4');
}

/**
 * The model `serve` runs when given none: the project's own exporter writes the seeded-random
 * tiny Qwen3 (int4, real tokenizer) on first use, into a private folder renamed into place.
 */
export function ensureBuiltInTinyModel(): { dir: string; created: boolean } {
  const dir = builtInTinyModelDir();
  if (existsSync(join(dir, COMPLETE_MARKER))) return { dir, created: false };
  const staging = `${dir}.staging-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const source = createRandomWeightSource(PRESETS.tiny, TINY_MODEL_SEED);
  try {
    exportQwen3Model(source, staging, { format: { bits: 4, blockSize: 32 }, quiet: true, metadata: { weights: `random seed ${TINY_MODEL_SEED}` } });
  } finally {
    source.close();
  }
  writeFileSync(join(staging, COMPLETE_MARKER), '');
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  return { dir, created: true };
}

export const TINY_MODEL_BANNER = [
  '',
  '======================================================================================',
  ' qwen3-serve is serving its built-in TEST model: a tiny Qwen3 with random weights.',
  ' It speaks through the real Qwen3 tokenizer, but its output is gibberish.',
  ' To serve a real model, give --model (or QWEN3_SERVE_MODEL) a model folder:',
  '   qwen3-serve export --checkpoint <Hugging Face Qwen3 folder> --bits 4 --out models/qwen3-int4',
  '   qwen3-serve serve --model models/qwen3-int4',
  ' or an onnxruntime-genai export, e.g. onnx-community/Qwen3-4B-ONNX\'s folder',
  ' onnxruntime/cpu_and_mobile/cpu-int4-kld-block-128/ (with its tokenizer files).',
  '======================================================================================',
  '',
].join('\n');
