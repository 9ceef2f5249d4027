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
  /** Per sequence, the prompt tokens its first admission found in the prefix cache. */
  private readonly cachedPromptTokens = new Map<string, number>();

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

  /**
   * A sequence got a KV row at `now`, starting from `cachedTokens` tokens of a cached prefix.
   * Only its first admission counts towards usage: whatever a readmission after preemption finds
   * makes up for work the preemption threw away, not for prompt tokens the client sent.
   */
  recordAdmission(sequence: Sequence, now: number, cachedTokens: number): void {
    this.timings.scheduled ??= now;
    if (!this.cachedPromptTokens.has(sequence.id)) this.cachedPromptTokens.set(sequence.id, Math.min(cachedTokens, this.promptTokens));
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

  /**
   * Usage over the choices. Cached prompt tokens are those of the choice that found the most in
   * the prefix cache, like the prompt tokens, which are counted once for all choices.
   */
  usage(): RequestUsage {
    return {
      promptTokens: this.promptTokens,
      completionTokens: this.sequences.reduce((sum, s) => sum + s.generatedCount, 0),
      cachedPromptTokens: Math.max(0, ...this.cachedPromptTokens.values()),
    };
  }

  finalTimings(now: number): RequestTimings {
    return { ...this.timings, finished: now };
  }

  reasons(): FinishReason[] {
    return this.finishReasons.map((r) => r ?? 'abort');
  }
}
