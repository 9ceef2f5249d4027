import type { CpuFeatures } from '../model/runner/cpu-features.js';
import type { Device, SpinPolicy } from '../model/runner/open-session.js';

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
  /** The CPU onnxruntime picks its kernels for. */
  cpu: CpuFeatures;
  /** onnxruntime intra-op threads (configured, else one per physical core). */
  threads: number;
  /** How those threads wait between operators (OnnxRunner's SpinPolicy). */
  spinning: SpinPolicy;
  /**
   * How the graph returns KV: 'new-positions' (it reads the cache as an input; the runner stores
   * the step's positions) or 'present' (GroupQueryAttention appends in place, builder exports).
   */
  kvOutputs: 'present' | 'new-positions';
  /** How the KV cache is held: 'float32', 'float16' or 'int8' (codes with a scale per position and head). */
  kvCache: string;
  /** Whether prefill chunks run through the folder's int8 prefill graph (see OnnxRunner). */
  prefillGraph: boolean;
}
