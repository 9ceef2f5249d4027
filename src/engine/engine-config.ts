import type { SchedulerTuning } from '../../scheduler/index.js';
import type { Device, SpinPolicy } from '../model/runner/open-session.js';

/** KV rows by default: decode batching pays up to about there on a CPU. */
export const DEFAULT_MAX_SEQS = 8;
export const DEFAULT_DEVICE: Device = 'cpu';

/**
 * What an engine is built from: the model folder, where it runs, the sizes of its KV pool, and
 * the scheduler's tunables. Plain data: it crosses into the engine worker as workerData.
 */
export interface EngineConfig {
  modelDir: string;
  /** Execution provider; default cpu. */
  device?: Device;
  /** onnxruntime intra-op threads; default: one per physical core the process may run on. */
  threads?: number;
  /** How onnxruntime's threads wait between operators; default per OnnxRunner (defaultSpinPolicy). */
  spinning?: SpinPolicy;
  /** KV rows: the most sequences running at once; default DEFAULT_MAX_SEQS. */
  maxSeqs?: number;
  /** Longest prompt + output per sequence; default min(context length, 8192). */
  maxModelLen?: number;
  /** Bytes of KV cache to admit sequences against; default 25% of system memory. */
  kvMemoryBytes?: number;
  /**
   * Run prefill chunks through the folder's prefill graph (prefill.onnx, written by
   * `export --prefill-graph`) when it has one; default true. False loads only the main graph.
   */
  prefillGraph?: boolean;
  /**
   * Handed to the scheduler as it is; the engine adds the sizes it derives from the settings
   * above (maxSeqs, maxLen, kvTokenBudget).
   */
  scheduler?: SchedulerTuning;
  /**
   * Fault injection for tests: a module (URL or path) whose default export wraps the model runner,
   * `(runner, options) => ModelRunner`, e.g. one whose forward pass throws at a chosen step. A
   * module rather than a function because the config crosses into the worker as plain data.
   */
  runnerDecorator?: { module: string; options?: unknown };
}
