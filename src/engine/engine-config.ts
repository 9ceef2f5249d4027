import type { Device } from '../model/runner/open-session.js';

/**
 * What an engine is built from: the model folder, where it runs, and the sizes of its KV pool and
 * steps. Plain data: it crosses into the engine worker as workerData.
 */
export interface EngineConfig {
  modelDir: string;
  device: Device;
  /** onnxruntime intra-op threads; default: onnxruntime's choice. */
  threads?: number;
  /** KV rows: the most sequences running at once. */
  maxSeqs: number;
  /** Longest prompt + output per sequence; default min(context length, 8192). */
  maxModelLen?: number;
  /** Bytes of KV cache to admit sequences against; default 25% of system memory. */
  kvMemoryBytes?: number;
  /** Tokens per step (decodes + prefill chunk); default maxSeqs + maxPrefillChunk. */
  maxNumBatchedTokens?: number;
  /** Tokens per prefill chunk; default 128. */
  maxPrefillChunk?: number;
  /** Prompt tokens of batch-priority requests per step; default 16. */
  maxBatchPrefillTokens?: number;
}
