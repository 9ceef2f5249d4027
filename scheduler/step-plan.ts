import type { PrefixMatch } from './prefix-cache.js';
import type { RequestState } from './request-state.js';
import type { DecodeEntry, FinishedRequest, PrefillChunk, PrefixReuse, RetainedPrefix, SchedulerOutput } from './step-output.js';

/** A scheduled piece of work: a request and how many tokens it computes this step. */
export interface PlannedWork {
  readonly request: RequestState;
  readonly start: number;
  readonly length: number;
  readonly samples: boolean;
}

/**
 * The step being built by schedule(): the token budget and the work planned against it. Work
 * can be withdrawn (a request preempted for priority after it was planned) and its tokens go
 * back to the budget.
 */
export class StepPlan {
  private readonly decodes = new Map<RequestState, PlannedWork>();
  private readonly prefills = new Map<RequestState, PlannedWork>();
  private readonly preemptedIds: string[] = [];
  private readonly admittedIds: string[] = [];
  private readonly reused: PrefixReuse[] = [];
  private readonly evicted: number[] = [];
  private prefixQueryTokens = 0;
  private tokensLeft: number;

  constructor(tokenBudget: number) {
    this.tokensLeft = tokenBudget;
  }

  get budgetLeft(): number {
    return this.tokensLeft;
  }

  get hasDecodes(): boolean {
    return this.decodes.size > 0;
  }

  /** The best priority among the planned prefill chunks, or undefined when none is planned. */
  get prefillPriority(): number | undefined {
    return bestPriority(this.prefills);
  }

  /** The best priority among the planned decodes, or undefined when none is planned. */
  get decodePriority(): number | undefined {
    return bestPriority(this.decodes);
  }

  /** Takes every planned decode out of the step, refunding its tokens (they decode next step). */
  withdrawDecodes(): void {
    this.tokensLeft += this.decodes.size;
    this.decodes.clear();
  }

  /** Plans the request's single remaining token into the batched decode call. */
  addDecode(request: RequestState): void {
    this.plan(this.decodes, request, 1);
  }

  /** Plans a prefill chunk of `length` tokens, from the request's first uncomputed token. */
  addPrefill(request: RequestState, length: number): void {
    this.plan(this.prefills, request, length);
  }

  recordAdmitted(request: RequestState): void {
    this.admittedIds.push(request.id);
  }

  /** Records an admitted request's prefix cache lookup of `queriedTokens` and what it found. */
  recordPrefixLookup(request: RequestState, queriedTokens: number, match: PrefixMatch | undefined): void {
    this.prefixQueryTokens += queriedTokens;
    if (match !== undefined) this.reused.push({ id: request.id, ...match });
  }

  recordEvicted(entry: number): void {
    this.evicted.push(entry);
  }

  /** Records a preemption and withdraws whatever the request had planned, refunding its tokens. */
  recordPreempted(request: RequestState): void {
    this.preemptedIds.push(request.id);
    for (const work of [this.decodes, this.prefills]) {
      const planned = work.get(request);
      if (planned === undefined) continue;
      this.tokensLeft += planned.length;
      work.delete(request);
    }
  }

  /** All planned work, decodes first; update() replays it. */
  work(): PlannedWork[] {
    return [...this.decodes.values(), ...this.prefills.values()];
  }

  toOutput(step: number, finished: readonly FinishedRequest[], retained: readonly RetainedPrefix[]): SchedulerOutput {
    const decode: DecodeEntry[] = [...this.decodes.values()].map((w) => ({ id: w.request.id, position: w.start }));
    const prefill: PrefillChunk[] = [...this.prefills.values()].map((w) => ({
      id: w.request.id,
      start: w.start,
      length: w.length,
      samples: w.samples,
    }));
    const numPrefillTokens = prefill.reduce((sum, chunk) => sum + chunk.length, 0);
    return {
      step,
      finished,
      preempted: [...this.preemptedIds],
      admitted: [...this.admittedIds],
      retained,
      evicted: [...this.evicted],
      reused: [...this.reused],
      numPrefixQueryTokens: this.prefixQueryTokens,
      numPrefixHitTokens: this.reused.reduce((sum, reuse) => sum + reuse.length, 0),
      decode,
      prefill,
      numDecodeTokens: decode.length,
      numPrefillTokens,
      numScheduledTokens: decode.length + numPrefillTokens,
    };
  }

  private plan(into: Map<RequestState, PlannedWork>, request: RequestState, length: number): void {
    // Invariants the output promises the runner: one entry per request per step, within budget,
    // never past the end of the known sequence.
    if (this.decodes.has(request) || this.prefills.has(request)) {
      throw new Error(`request ${request.id} planned twice in one step`);
    }
    if (length < 1 || length > this.tokensLeft || length > request.numTokensToCompute) {
      throw new Error(`request ${request.id}: cannot plan ${length} tokens`);
    }
    const start = request.numComputedTokens;
    this.tokensLeft -= length;
    into.set(request, { request, start, length, samples: start + length === request.numTokens });
  }
}

function bestPriority(work: Map<RequestState, PlannedWork>): number | undefined {
  let best: number | undefined;
  for (const { request } of work.values()) best = Math.max(best ?? request.priority, request.priority);
  return best;
}
