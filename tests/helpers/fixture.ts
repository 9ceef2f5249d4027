import { fileURLToPath } from 'node:url';

/**
 * The model produced by onnxruntime-genai's own builder (../shared beside the repository): int32
 * input ids, float16 KV cache and logits, 2 layers, vocab 1000, context 128, no tokenizer.
 */
export const BUILDER_FIXTURE_DIR = fileURLToPath(new URL('../../../shared/fixtures/genai-tiny-qwen2', import.meta.url));
