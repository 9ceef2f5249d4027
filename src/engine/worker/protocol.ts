import type { SerializedServeError } from '../../errors.js';
import type { Device } from '../../model/runner/open-session.js';
import type { EngineEvent, GenerationRequest } from '../generation.js';
import type { StepReport } from '../step-report.js';

/** Messages between the main thread (EngineClient) and the engine worker. Plain data only. */

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

/** What the engine reports once its model is loaded. */
export interface EngineInfo {
  modelDir: string;
  modelType: string;
  device: Device;
  /** The context length the model was exported for. */
  contextLength: number;
  /** The most tokens (prompt + output) one sequence may reach here. */
  contextLimit: number;
  vocabSize: number;
  maxSeqs: number;
  maxLen: number;
  kvBytesPerToken: number;
  kvTokenBudget: number;
  kvReservedBytes: number;
  /** Bytes of the model files (graph + external weights) on disk. */
  weightBytes: number;
  eosTokenIds: number[];
  hasTokenizer: boolean;
  loadSeconds: number;
}

export type ToWorker =
  | { type: 'add'; request: GenerationRequest }
  | { type: 'abort'; requestId: string }
  | { type: 'shutdown' };

export type FromWorker =
  | { type: 'ready'; info: EngineInfo }
  | { type: 'step'; events: EngineEvent[]; report: StepReport }
  /** add() refused the request (e.g. context_length_exceeded); it never started. */
  | { type: 'rejected'; requestId: string; error: SerializedServeError }
  /** The engine cannot go on (model failed to load, loop crashed). */
  | { type: 'fatal'; error: SerializedServeError };
