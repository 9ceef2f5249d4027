import type { FinishReason } from './request-state.js';

/**
 * Counts the metrics layer reads (gauges are current values, `...Total` are monotonic
 * counters). Plain data: exporter/ turns it into Prometheus metrics.
 */
export interface SchedulerStats {
  /** Requests holding a KV row (prefilling or decoding); also the rows in use. */
  readonly numRunning: number;
  /** Running requests still computing their prompt (or recomputing after preemption). */
  readonly numPrefilling: number;
  /** Requests queued, including preempted ones. */
  readonly numWaiting: number;
  /** Queued requests that were preempted and will recompute. */
  readonly numPreempted: number;
  readonly maxSeqs: number;
  /** Tokens computed into KV rows over running requests. */
  readonly kvTokensInUse: number;
  /**
   * Tokens the running requests will hold once their prompts are computed: the admission and
   * preemption policy keeps this within the budget, and it always bounds kvTokensInUse.
   */
  readonly kvTokensReserved: number;
  readonly kvTokenBudget: number;
  /** Finished requests' rows kept as cached prefixes (prefix caching); evicted as others need them. */
  readonly numCachedPrefixes: number;
  /** KV tokens those rows hold: reclaimable, so not part of kvTokensInUse. */
  readonly kvTokensCached: number;
  /** Tokens of admitted requests looked up in the prefix cache (vLLM's prefix cache queries). */
  readonly prefixQueryTokensTotal: number;
  /** The part of them found there and not computed again (vLLM's prefix cache hits). */
  readonly prefixHitTokensTotal: number;
  readonly stepsTotal: number;
  readonly preemptionsTotal: number;
  /** The part of preemptionsTotal done to admit a higher-priority request. */
  readonly priorityPreemptionsTotal: number;
  readonly scheduledTokensTotal: number;
  readonly finishedTotal: Readonly<Record<FinishReason, number>>;
  /** Tokens of the most recent schedule() (0s before the first). */
  readonly lastStep: {
    readonly numDecodeTokens: number;
    readonly numPrefillTokens: number;
    readonly numPrefillChunks: number;
    readonly numScheduledTokens: number;
  };
}
