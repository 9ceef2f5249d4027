import type { ChoiceDelta, FinishReason, GenerationRequest, RequestTimings, RequestUsage } from './generation.js';
import type { Sequence } from './sequence.js';

/**
 * One API request inside the engine: its `n` sequences (one per choice) and the bookkeeping that
 * spans them: which choices are still going, usage, and the timestamps behind latency metrics.
 */
export class RequestGroup {
  readonly id: string;
  readonly sequences: Sequence[];
  readonly promptTokens: number;
  private readonly finishReasons: (FinishReason | null)[];
  private readonly timings: { arrival: number; scheduled: number | null; firstToken: number | null };
  /** Time of each sequence's latest token, for inter-token latency. */
  private readonly lastTokenTime = new Map<string, number>();

  constructor(request: GenerationRequest, sequences: Sequence[]) {
    this.id = request.id;
    this.sequences = sequences;
    this.promptTokens = request.promptTokenIds.length;
    this.finishReasons = sequences.map(() => null);
    this.timings = { arrival: request.arrivalTime, scheduled: null, firstToken: null };
  }

  get done(): boolean {
    return this.finishReasons.every((r) => r !== null);
  }

  markScheduled(now: number): void {
    this.timings.scheduled ??= now;
  }

  /**
   * Records a token of `sequence` at `now`. Returns the gap since that sequence's previous token
   * (inter-token latency) and, for the request's very first token, the time since arrival (ms).
   */
  recordToken(sequence: Sequence, now: number): { gapMs: number | null; timeToFirstTokenMs: number | null } {
    const first = this.timings.firstToken === null;
    this.timings.firstToken ??= now;
    const previous = this.lastTokenTime.get(sequence.id);
    this.lastTokenTime.set(sequence.id, now);
    return {
      gapMs: previous === undefined ? null : now - previous,
      timeToFirstTokenMs: first ? now - this.timings.arrival : null,
    };
  }

  /** Marks a choice finished; its `finish` delta has been or is being emitted. */
  recordFinish(delta: ChoiceDelta): void {
    if (delta.finishReason === undefined) throw new Error('a final delta carries a finish reason');
    this.finishReasons[delta.choice] = delta.finishReason;
  }

  isFinished(sequence: Sequence): boolean {
    return this.finishReasons[sequence.choice] !== null;
  }

  usage(): RequestUsage {
    return {
      promptTokens: this.promptTokens,
      completionTokens: this.sequences.reduce((sum, s) => sum + s.generatedCount, 0),
    };
  }

  finalTimings(now: number): RequestTimings {
    return { ...this.timings, finished: now };
  }

  reasons(): FinishReason[] {
    return this.finishReasons.map((r) => r ?? 'abort');
  }
}
