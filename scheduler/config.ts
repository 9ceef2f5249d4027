/**
 * The scheduler's tunables: policy an operator may choose (several are serve flags), as opposed
 * to the sizes the engine derives from the model and the memory budget (SchedulerConfig's own
 * fields). Each is declared here once: the engine's config and the server's carry this object
 * through untouched, so a new setting needs only its field here and, if it has one, its flag.
 */
export interface SchedulerTuning {
  /**
   * Most tokens computed in one step, decode tokens plus prefill tokens. The knob between the
   * inter-token latency of running streams (a 128-token prefill chunk costs about 4.5 s on the
   * target CPU, some 20 single-row decode steps) and the time to first token of new ones. At
   * least maxSeqs, so every decode always fits. Default maxSeqs + maxPrefillChunk: one full chunk
   * per step beside a full decode batch.
   */
  readonly maxNumBatchedTokens?: number;
  /**
   * Most tokens in one prefill chunk (one runner call at batch size 1). Default 128: on Qwen3-4B
   * int4 with 8 clients of 113-token prompts it beat 64 on mean TTFT (20.5 s against 26.0 s) and
   * on throughput (BENCHMARKS.md, "Serving over HTTP"): a short prompt prefills in one forward.
   */
  readonly maxPrefillChunk?: number;
  /**
   * Most prompt tokens of requests below interactive priority (batch jobs) computed in one step,
   * over all their chunks. A step cannot be interrupted, so an interactive request that arrives
   * waits for the step in progress: little batch prefill per step keeps that wait short (batch
   * chunks take steps of their own, alternating with decode steps; see Scheduler, rule 4).
   * Default min(16, maxPrefillChunk).
   */
  readonly maxBatchPrefillTokens?: number;
  /**
   * Whether a waiting request may preempt running requests of strictly lower priority when no
   * row is free or its tokens do not fit the KV budget. Default true.
   */
  readonly priorityPreemption?: boolean;
  /**
   * A request already preempted this many times is no longer a victim of priority preemption:
   * this bounds the recompute a batch job can be made to waste by interactive arrivals. It can
   * still be preempted for KV growth, which cannot livelock (see RequestQueue). Default 2.
   */
  readonly preemptionShield?: number;
  /**
   * Prefix caching: a request that finishes (stop or length) leaves its KV row behind as a cached
   * prefix, and a later request whose sequence starts with the same tokens (a chat's next turn, a
   * shared system prompt or instruction) takes that row over and computes only the rest, so a
   * 10-turn chat does not prefill its whole history again at every turn. Cached rows never hold
   * work back: they are evicted, oldest first, as soon as running or admitted requests need their
   * row or their KV tokens. The cost while they wait: the KV pool's rows stay as wide as the
   * longest row it holds, cached ones included, and every forward pass reads that width. A reused
   * prefix is summed in another order than a cold prefill (cached then new positions), so logits
   * may differ in the last bits (more on int8/int4 weights; see tests/model-kv-cache.test.ts).
   * Default true; `serve --no-prefix-caching` turns it off.
   */
  readonly prefixCaching?: boolean;
}

/** What the engine configures: the tunables and the sizes it derives. Only maxSeqs and maxLen are required. */
export interface SchedulerConfig extends SchedulerTuning {
  /** KV slot rows: the most requests running (prefilling or decoding) at once. */
  readonly maxSeqs: number;
  /** Positions per KV row. No request's prompt + generated tokens exceed it. */
  readonly maxLen: number;
  /**
   * Most tokens held in KV over all running requests and cached prefixes, from the configured
   * memory budget. Default maxSeqs * maxLen (the rows themselves are the only limit).
   */
  readonly kvTokenBudget?: number;
}

/** SchedulerConfig with defaults applied and validated. */
export interface ResolvedSchedulerConfig {
  readonly maxSeqs: number;
  readonly maxLen: number;
  readonly kvTokenBudget: number;
  readonly maxNumBatchedTokens: number;
  readonly maxPrefillChunk: number;
  readonly maxBatchPrefillTokens: number;
  readonly priorityPreemption: boolean;
  readonly preemptionShield: number;
  readonly prefixCaching: boolean;
  /**
   * The most tokens (prompt + generated) one request may reach: min(maxLen, kvTokenBudget).
   * Capping by the KV budget too means a request running alone always fits, which is what lets
   * KV-growth preemption always end with someone still running.
   */
  readonly contextLimit: number;
}

export function resolveSchedulerConfig(config: SchedulerConfig): ResolvedSchedulerConfig {
  const maxPrefillChunk = config.maxPrefillChunk ?? 128;
  const resolved = {
    maxSeqs: config.maxSeqs,
    maxLen: config.maxLen,
    kvTokenBudget: config.kvTokenBudget ?? config.maxSeqs * config.maxLen,
    maxNumBatchedTokens: config.maxNumBatchedTokens ?? config.maxSeqs + maxPrefillChunk,
    maxPrefillChunk,
    maxBatchPrefillTokens: config.maxBatchPrefillTokens ?? Math.min(16, maxPrefillChunk),
    priorityPreemption: config.priorityPreemption ?? true,
    preemptionShield: config.preemptionShield ?? 2,
    prefixCaching: config.prefixCaching ?? true,
  };
  for (const key of ['maxSeqs', 'maxLen', 'kvTokenBudget', 'maxNumBatchedTokens', 'maxPrefillChunk', 'maxBatchPrefillTokens'] as const) {
    requirePositiveInteger(key, resolved[key]);
  }
  if (!Number.isInteger(resolved.preemptionShield) || resolved.preemptionShield < 0) {
    throw new RangeError(`preemptionShield must be a non-negative integer, got ${resolved.preemptionShield}`);
  }
  if (resolved.maxNumBatchedTokens < resolved.maxSeqs) {
    throw new RangeError(
      `maxNumBatchedTokens (${resolved.maxNumBatchedTokens}) must be at least maxSeqs (${resolved.maxSeqs}) so every running decode fits in a step`,
    );
  }
  const contextLimit = Math.min(resolved.maxLen, resolved.kvTokenBudget);
  if (contextLimit < 2) {
    throw new RangeError('maxLen and kvTokenBudget must each hold a one-token prompt and one generated token');
  }
  return { ...resolved, contextLimit };
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}
