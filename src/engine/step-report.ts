import type { SchedulerStats } from '../../scheduler/index.js';

/**
 * What the engine loop reports after each step: plain numbers, posted to the main thread with the
 * step's events, where exporter/ turns them into metrics. The loop never calls a metrics library.
 */
export interface StepReport {
  /** Epoch ms when the step began. */
  startedAt: number;
  /** Whole step, schedule to emitted events (ms). */
  durationMs: number;
  /** Time inside the model's forward passes (ms); the rest is engine overhead. */
  forwardMs: number;
  /** Rows in the batched decode call (0 when the step had none). */
  decodeBatchSize: number;
  prefillChunks: number;
  prefillTokens: number;
  decodeTokens: number;
  /** Tokens sampled this step, over all sequences. */
  generatedTokens: number;
  /** Gaps between consecutive tokens of the same sequence that ended in this step (ms). */
  interTokenLatenciesMs: number[];
  /**
   * Arrival-to-first-token times (ms) of the requests whose first token came in this step, so
   * TTFT is observed when it happens, not when the request ends.
   */
  timesToFirstTokenMs: number[];
  /** Preemptions done by this step's schedule(). */
  preemptions: number;
  /**
   * Tokens of the requests admitted by this step's schedule() that were looked up in the prefix
   * cache (their whole sequences; 0 with prefix caching off), and how many of them were found
   * there: vLLM's prefix cache queries and hits.
   */
  prefixCacheQueries: number;
  prefixCacheHits: number;
  scheduler: SchedulerStats;
  /** KV bytes held by computed tokens, and the budget they are admitted against. */
  kvBytesInUse: number;
  kvBytesBudget: number;
}
