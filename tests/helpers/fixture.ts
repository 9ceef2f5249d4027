import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where shared test fixtures live: $QWEN3_SERVE_TEST_FIXTURES, else ../shared/fixtures beside the
 * repository. The project's own machines have that folder; a user's clone does not, so tests of a
 * fixture skip without it (and the same checks run on the project's own exports, which need none).
 */
export const FIXTURES_DIR = process.env.QWEN3_SERVE_TEST_FIXTURES || fileURLToPath(new URL('../../../shared/fixtures', import.meta.url));

/**
 * The model produced by onnxruntime-genai's own builder: int32 input ids, float16 KV cache and
 * logits, 2 layers, vocab 1000, context 128, no tokenizer.
 */
export const BUILDER_FIXTURE_DIR = join(FIXTURES_DIR, 'genai-tiny-qwen2');

export const HAS_BUILDER_FIXTURE = existsSync(join(BUILDER_FIXTURE_DIR, 'genai_config.json'));

/**
 * Appended to the title of a suite that needs the builder fixture, so that a run without it says
 * why the suite was skipped and how to run it.
 */
export const BUILDER_FIXTURE_NOTE = HAS_BUILDER_FIXTURE
  ? ''
  : ` [skipped: no builder fixture at ${BUILDER_FIXTURE_DIR}; set QWEN3_SERVE_TEST_FIXTURES to a folder holding genai-tiny-qwen2]`;
