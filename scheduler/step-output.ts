import type { FinishReason } from './request-state.js';

/**
 * One request in the step's batched decode call: feed the token at index `position` of its
 * sequence (prompt + generated tokens, which the engine holds) onto its past of `position`
 * tokens, and sample its next token. Every entry samples.
 */
export interface DecodeEntry {
  readonly id: string;
  readonly position: number;
}

/**
 * One prefill call at batch size 1 (GroupQueryAttention cannot run S>1 onto a non-empty past
 * at a larger batch): feed tokens [start, start + length) of the request's sequence onto its
 * past of `start` tokens. `samples` is true when the chunk reaches the end of the sequence: the
 * runner then samples the request's next token from the last position's logits; otherwise the
 * logits are discarded.
 */
export interface PrefillChunk {
  readonly id: string;
  readonly start: number;
  readonly length: number;
  readonly samples: boolean;
}

export interface FinishedRequest {
  readonly id: string;
  readonly reason: FinishReason;
}

/**
 * A finished request whose row is kept as a cached prefix instead of being released: positions
 * [0, length) of the row hold its sequence's first `length` tokens, now cache entry `entry`.
 */
export interface RetainedPrefix {
  readonly id: string;
  readonly entry: number;
  readonly length: number;
}

/**
 * An admitted request that takes over the row of cache entry `entry`, whose first `length`
 * positions hold the request's own first `length` tokens: they count as computed, so its first
 * chunk starts at `length`. The positions after it are overwritten as the request computes.
 */
export interface PrefixReuse {
  readonly id: string;
  readonly entry: number;
  readonly length: number;
}

/**
 * What one step runs, as plain data (safe to post between threads). The runner applies it in
 * this order:
 *   1. the rows of `finished` requests listed in `retained` become those cache entries; release
 *      the rows of the other `finished` (those holding one) and of `preempted`;
 *   2. release the rows of the `evicted` cache entries;
 *   3. give each id in `admitted` a row: its cache entry's row if it is in `reused` (its first
 *      prefill chunk starts at that length), otherwise a free one (its first chunk starts at 0);
 *   4. run `decode` as one batched call (if non-empty) and each `prefill` chunk as its own call.
 * A request appears at most once across `decode` and `prefill`, and never there if it is in
 * `finished` or `preempted`. After step 3, rows held by running requests and cache entries
 * together never exceed maxSeqs.
 */
export interface SchedulerOutput {
  /** Increases by one per schedule(); update() checks it gets the output of this step. */
  readonly step: number;
  /**
   * Every request that reached `finished` since the previous schedule() (in update(), by
   * abort(), at any state), each listed exactly once, in the order they finished. After this
   * the scheduler forgets them and their ids may be reused.
   */
  readonly finished: readonly FinishedRequest[];
  /**
   * Requests preempted in this step: they lost their row and went back to the waiting queue.
   * The engine keeps their tokens; they recompute prompt + generated tokens when readmitted.
   */
  readonly preempted: readonly string[];
  /** Requests given a row in this step (new or readmitted after preemption). */
  readonly admitted: readonly string[];
  /** The finished requests (all in `finished`) whose rows become cached prefixes. */
  readonly retained: readonly RetainedPrefix[];
  /**
   * Cache entries dropped in this step to make room (rows or KV tokens) for running and admitted
   * requests, oldest first. An entry retained in this very step may be among them.
   */
  readonly evicted: readonly number[];
  /** The admitted requests (all in `admitted`) that start from a cached prefix. */
  readonly reused: readonly PrefixReuse[];
  /**
   * Tokens looked up in the prefix cache: the whole sequence of each request admitted in this
   * step while prefix caching is on (vLLM's prefix cache queries, in tokens).
   */
  readonly numPrefixQueryTokens: number;
  /** Tokens found there: the sum of `reused` lengths (vLLM's prefix cache hits, in tokens). */
  readonly numPrefixHitTokens: number;
  readonly decode: readonly DecodeEntry[];
  readonly prefill: readonly PrefillChunk[];
  readonly numDecodeTokens: number;
  readonly numPrefillTokens: number;
  /** numDecodeTokens + numPrefillTokens, never above maxNumBatchedTokens. */
  readonly numScheduledTokens: number;
}

/**
 * What the engine reports back for a step, beside the output itself. To fail a single request
 * (its sampling threw, say), call abort(id, 'error') before update(): its work is then ignored.
 */
export interface StepResults {
  /**
   * Ids whose token sampled in this step ends them (EOS, a stop token id or stop string).
   * Each must have sampled in this step (a decode entry or a chunk with `samples`), unless it
   * was aborted after schedule(). Stop beats length when both apply.
   */
  readonly stopped?: Iterable<string>;
}

export interface UpdateResult {
  /** Requests finished by this step's results (stop or length), in step order. */
  readonly finished: readonly FinishedRequest[];
}
