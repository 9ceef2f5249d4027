import type { SchedulerOutput, SchedulerStats } from '../../scheduler/index.js';
import type { StepReport } from './step-report.js';

/** What a sampled token says about latency (RequestGroup.recordToken's answer). */
export interface TokenLatency {
  /** Since the same sequence's previous token (ms); null for its first token. */
  gapMs: number | null;
  /** Since the request arrived (ms), for the request's very first token only. */
  timeToFirstTokenMs: number | null;
}

/**
 * The bookkeeping of one engine step: when it began, how long its forward passes took, the token
 * latencies it saw; at the end, its StepReport. EngineCore makes one per step and hands it the
 * numbers as they happen, so the loop itself holds no timers or counters.
 *
 * Every clock read is one the step would make anyway (start, around the forward passes, end), so
 * an injected test clock sees the same calls in the same order as before this was split out.
 */
export class StepRecorder {
  /** Epoch ms when the step began; also the step's "now" for rows admitted by its schedule. */
  readonly startedAt: number;
  private readonly clock: () => number;
  /** Stays 0 when the forward passes threw: the step did no useful model work. */
  private forwardMs = 0;
  private readonly interTokenLatenciesMs: number[] = [];
  private readonly timesToFirstTokenMs: number[] = [];

  constructor(clock: () => number) {
    this.clock = clock;
    this.startedAt = clock();
  }

  /** Runs the step's forward passes and keeps their duration (only if they complete). */
  async timeForward<T>(forward: () => Promise<T>): Promise<T> {
    const start = this.clock();
    const result = await forward();
    this.forwardMs = this.clock() - start;
    return result;
  }

  recordToken(latency: TokenLatency): void {
    if (latency.gapMs !== null) this.interTokenLatenciesMs.push(latency.gapMs);
    if (latency.timeToFirstTokenMs !== null) this.timesToFirstTokenMs.push(latency.timeToFirstTokenMs);
  }

  /**
   * The step's report, read at its very end so `durationMs` covers the emitted events too.
   * KV bytes are the scheduler's token counts times the bytes one token's K and V take.
   */
  report(output: SchedulerOutput, generatedTokens: number, stats: SchedulerStats, kvBytesPerToken: number): StepReport {
    return {
      startedAt: this.startedAt,
      durationMs: this.clock() - this.startedAt,
      forwardMs: this.forwardMs,
      decodeBatchSize: output.decode.length,
      prefillChunks: output.prefill.length,
      prefillTokens: output.numPrefillTokens,
      decodeTokens: output.numDecodeTokens,
      generatedTokens,
      interTokenLatenciesMs: this.interTokenLatenciesMs,
      timesToFirstTokenMs: this.timesToFirstTokenMs,
      preemptions: output.preempted.length,
      prefixCacheQueries: output.numPrefixQueryTokens,
      prefixCacheHits: output.numPrefixHitTokens,
      scheduler: stats,
      kvBytesInUse: stats.kvTokensInUse * kvBytesPerToken,
      kvBytesBudget: stats.kvTokenBudget * kvBytesPerToken,
    };
  }
}
