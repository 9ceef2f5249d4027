import { resolveSchedulerConfig, type ResolvedSchedulerConfig, type SchedulerConfig } from './config.js';
import { ContextLengthExceededError, SchedulerError } from './errors.js';
import { PrefixCache } from './prefix-cache.js';
import { RequestQueue } from './request-queue.js';
import {
  Priority,
  RequestState,
  ranksBefore,
  type FinishReason,
  type NewRequest,
  type RequestSnapshot,
} from './request-state.js';
import type { SchedulerStats } from './scheduler-stats.js';
import type { FinishedRequest, RetainedPrefix, SchedulerOutput, StepResults, UpdateResult } from './step-output.js';
import { StepPlan, type PlannedWork } from './step-plan.js';

/**
 * Continuous-batching scheduler: decides, every step, which requests compute how many tokens.
 * Pure policy over token counts; it never sees tensors, and reads token ids only to match and
 * cache prefixes (rule 5).
 *
 * The engine drives it in a strict cycle, once per step:
 *   const output = scheduler.schedule();   // plain data, see SchedulerOutput for how to apply it
 *   ...runner executes output, sampler picks tokens, engine checks stop conditions...
 *   const { finished } = scheduler.update(output, { stopped });
 * add() and abort() may be called at any time, also between schedule() and update().
 *
 * Policy (in the spirit of vLLM v1), per step, within `maxNumBatchedTokens` tokens:
 *   1. KV growth: if the running requests' tokens exceed `kvTokenBudget` (each sampled token
 *      adds one), preempt the worst-ranked running request until they fit; it recomputes later.
 *   2. Decodes: every running request with one token left joins the batched decode call.
 *   3. Prefills, in rank order (priority, then arrival): continuing chunked prefills and new
 *      admissions, each chunk at most `maxPrefillChunk` tokens; below interactive priority at
 *      most `maxBatchPrefillTokens` per step in all. A step that prefills a request prefills
 *      nothing of lower priority, so an interactive prompt's step is not lengthened by batch
 *      prompts, and the step an arriving one waits for is short. A waiting request is admitted
 *      only if a row is free and its whole sequence fits the KV budget beside the running ones,
 *      possibly by preempting strictly lower-priority running requests (`priorityPreemption`).
 *      Admission is strictly FCFS within the rank order: when the best waiting request cannot be
 *      admitted, none behind it is, so a long prompt cannot be starved by short ones. An admitted
 *      request whose sequence starts with a cached prefix takes that prefix's row over and
 *      computes only the rest (see 5).
 *   4. Steps stay short for arrivals above batch priority (a step cannot be interrupted, and the
 *      runner executes a step's decode call and prefill chunks one after another anyway):
 *      - a step that prefills a prompt decodes only if a decode of that prompt's priority or
 *        higher is due (all decoding rows decode together, so it is all or none): an
 *        interactive prompt beside a batch job is not slowed by the job's decodes;
 *      - batch prefill chunks do not share a step with decodes: while both are due, decode steps
 *        and batch-prefill steps alternate (a step after one that held its decodes back admits
 *        no batch chunk), so the step an interactive arrival waits for is one of the two, not
 *        both. The total work is the same.
 *   5. Prefix caching (`prefixCaching`): a request that finishes with 'stop' or 'length' leaves
 *      its row and computed tokens behind as a cached prefix. Cached prefixes are invisible to
 *      rules 1-3 (their rows count as free, their tokens as reclaimable), and at the end of every
 *      schedule() the oldest are evicted until running requests and cached prefixes together fit
 *      maxSeqs rows and the KV budget. So caching never delays or preempts any request.
 *
 * Progress: the best-ranked running request is never a KV-growth victim and always fits alone
 * (numTokens <= contextLimit <= kvTokenBudget), so it finishes; then the next one is best. So
 * preemption cannot livelock. Priority preemption of any one request is bounded by
 * `preemptionShield`. Lower-priority work runs whenever higher-priority work leaves rows, KV
 * tokens or step budget free; only sustained saturation by interactive traffic holds batch jobs
 * back, which is what priority means.
 */
export class Scheduler {
  readonly config: ResolvedSchedulerConfig;
  /** Every request not yet reported as finished in a SchedulerOutput, by id. */
  private readonly requests = new Map<string, RequestState>();
  /** Status waiting or preempted. */
  private readonly waiting = new RequestQueue();
  /** Status running: each holds one KV row, so size <= maxSeqs. */
  private readonly running = new RequestQueue();
  /** Prefixes left by finished requests; each holds one KV row. Empty with prefixCaching off. */
  private readonly prefixCache = new PrefixCache();
  /** Finished since the previous schedule(); reported (and forgotten) by the next one. */
  private finishedSinceLastStep: FinishedRequest[] = [];
  /** The part of finishedSinceLastStep whose rows became cached prefixes. */
  private retainedSinceLastStep: RetainedPrefix[] = [];
  /**
   * Sum of numTokens over running requests. Invariant after schedule(): this plus the cached
   * prefixes' tokens <= kvTokenBudget. It bounds the tokens running requests hold in KV
   * (computed + scheduled), which never exceed a request's numTokens.
   */
  private kvTokensReserved = 0;
  private nextArrival = 0;
  /** The step between schedule() and update(), with its planned work. */
  private inFlight: { step: number; work: PlannedWork[] } | undefined;
  private stepsTotal = 0;
  private preemptionsTotal = 0;
  private priorityPreemptionsTotal = 0;
  private scheduledTokensTotal = 0;
  private prefixQueryTokensTotal = 0;
  private prefixHitTokensTotal = 0;
  private readonly finishedTotal: Record<FinishReason, number> = { stop: 0, length: 0, abort: 0, error: 0 };
  private lastStep = { numDecodeTokens: 0, numPrefillTokens: 0, numPrefillChunks: 0, numScheduledTokens: 0 };
  /** Whether the previous step held its decodes back for a prefill (rule 4). */
  private lastStepHeldDecodes = false;

  constructor(config: SchedulerConfig) {
    this.config = resolveSchedulerConfig(config);
  }

  /**
   * Queues a request. Throws ContextLengthExceededError when its prompt leaves no room for a
   * generated token within `config.contextLimit`, SchedulerError('invalid_request') for a
   * duplicate id or bad counts; nothing is recorded then.
   */
  add(request: NewRequest): RequestSnapshot {
    const { id, promptLength, maxTokens, priority = Priority.interactive, tokenIds } = request;
    if (this.requests.has(id)) throw new SchedulerError('invalid_request', `duplicate request id ${id}`);
    if (!Number.isInteger(promptLength) || promptLength < 1) {
      throw new SchedulerError('invalid_request', `promptLength must be a positive integer, got ${promptLength}`);
    }
    if (!Number.isInteger(maxTokens) || maxTokens < 1) {
      throw new SchedulerError('invalid_request', `maxTokens must be a positive integer, got ${maxTokens}`);
    }
    if (!Number.isInteger(priority)) {
      throw new SchedulerError('invalid_request', `priority must be an integer, got ${priority}`);
    }
    if (promptLength + 1 > this.config.contextLimit) {
      throw new ContextLengthExceededError(promptLength, this.config.contextLimit);
    }
    const state = new RequestState(id, priority, this.nextArrival++, promptLength, maxTokens, tokenIds);
    this.requests.set(id, state);
    this.waiting.insert(state);
    return state.snapshot();
  }

  /**
   * Finishes a request in any state with `reason` (default 'abort'; 'error' when the engine
   * failed it, 'stop' for a stop string the detokenizer found late). Its row and KV tokens are
   * free for the next schedule(), which also reports it in `finished` so the runner releases
   * the row. Returns false, changing nothing, if the id is unknown or already finished.
   */
  abort(id: string, reason: FinishReason = 'abort'): boolean {
    const request = this.requests.get(id);
    if (request === undefined || request.status === 'finished') return false;
    this.finish(request, reason);
    return true;
  }

  /** Plans the next step. Must be followed by update() with its output before the next call. */
  schedule(): SchedulerOutput {
    if (this.inFlight !== undefined) {
      throw new Error(`schedule() called before update() of step ${this.inFlight.step}`);
    }
    const step = ++this.stepsTotal;
    const plan = new StepPlan(this.config.maxNumBatchedTokens);
    // Requests preempted in this step are not readmitted in it: that would only move them around.
    const preemptedNow = new Set<RequestState>();

    this.preemptForKvGrowth(plan, preemptedNow);
    for (const request of this.running) {
      // Always fits: maxNumBatchedTokens >= maxSeqs >= running.size.
      if (request.isDecodable) plan.addDecode(request);
    }
    // Rule 4: decodes held back in the previous step get this one before any batch chunk.
    this.planPrefillsAndAdmissions(plan, preemptedNow, !(plan.hasDecodes && this.lastStepHeldDecodes));
    const prefillPriority = plan.prefillPriority;
    const decodePriority = plan.decodePriority;
    const holdDecodes =
      prefillPriority !== undefined &&
      decodePriority !== undefined &&
      (prefillPriority < Priority.interactive || decodePriority < prefillPriority);
    if (holdDecodes) plan.withdrawDecodes();
    this.lastStepHeldDecodes = holdDecodes;
    this.evictCachedPrefixes(plan);

    const finished = this.finishedSinceLastStep;
    const retained = this.retainedSinceLastStep;
    this.finishedSinceLastStep = [];
    this.retainedSinceLastStep = [];
    for (const { id } of finished) this.requests.delete(id);

    const output = plan.toOutput(step, finished, retained);
    this.inFlight = { step, work: plan.work() };
    this.scheduledTokensTotal += output.numScheduledTokens;
    this.prefixQueryTokensTotal += output.numPrefixQueryTokens;
    this.prefixHitTokensTotal += output.numPrefixHitTokens;
    this.lastStep = {
      numDecodeTokens: output.numDecodeTokens,
      numPrefillTokens: output.numPrefillTokens,
      numPrefillChunks: output.prefill.length,
      numScheduledTokens: output.numScheduledTokens,
    };
    return output;
  }

  /**
   * Applies the executed step: planned tokens become computed, each sampling entry adds one
   * generated token, and requests end with 'stop' (in `results.stopped`) or 'length' (maxTokens
   * reached, or the context limit: no room for another token). Work of requests aborted after
   * schedule() is ignored. Throws, changing nothing, if `output` is not the step in flight or
   * `stopped` names a request that did not sample in it.
   */
  update(output: SchedulerOutput, results: StepResults = {}): UpdateResult {
    const inFlight = this.inFlight;
    if (inFlight === undefined || output.step !== inFlight.step) {
      throw new Error(`update() got step ${output.step}, but the step in flight is ${inFlight?.step ?? 'none'}`);
    }
    const sampledIds = new Set(inFlight.work.filter((w) => w.samples).map((w) => w.request.id));
    const stopped = new Set(results.stopped ?? []);
    for (const id of stopped) {
      if (!sampledIds.has(id)) throw new Error(`request ${id} reported stopped but sampled nothing in step ${output.step}`);
    }
    this.inFlight = undefined;

    const finished: FinishedRequest[] = [];
    for (const { request, length, samples } of inFlight.work) {
      // Aborted after schedule(): its row is already released in the scheduler's accounts.
      if (request.status !== 'running') continue;
      request.numComputedTokens += length;
      if (!samples) continue;
      request.numGeneratedTokens += 1;
      this.kvTokensReserved += 1;
      const reason = this.finishReasonAfterSample(request, stopped);
      if (reason !== undefined) {
        this.finish(request, reason);
        finished.push({ id: request.id, reason });
      }
    }
    return { finished };
  }

  /** A copy of the request's state, or undefined once its finish has been reported by schedule(). */
  get(id: string): RequestSnapshot | undefined {
    return this.requests.get(id)?.snapshot();
  }

  /** True while schedule() has work to plan or finished requests to report; false means idle. */
  hasWork(): boolean {
    return this.running.size > 0 || this.waiting.size > 0 || this.finishedSinceLastStep.length > 0;
  }

  stats(): SchedulerStats {
    let numPrefilling = 0;
    let kvTokensInUse = 0;
    for (const request of this.running) {
      if (!request.isDecodable) numPrefilling += 1;
      kvTokensInUse += request.numComputedTokens;
    }
    let numPreempted = 0;
    for (const request of this.waiting) if (request.status === 'preempted') numPreempted += 1;
    return {
      numRunning: this.running.size,
      numPrefilling,
      numWaiting: this.waiting.size,
      numPreempted,
      maxSeqs: this.config.maxSeqs,
      kvTokensInUse,
      kvTokensReserved: this.kvTokensReserved,
      kvTokenBudget: this.config.kvTokenBudget,
      numCachedPrefixes: this.prefixCache.size,
      kvTokensCached: this.prefixCache.tokens,
      prefixQueryTokensTotal: this.prefixQueryTokensTotal,
      prefixHitTokensTotal: this.prefixHitTokensTotal,
      stepsTotal: this.stepsTotal,
      preemptionsTotal: this.preemptionsTotal,
      priorityPreemptionsTotal: this.priorityPreemptionsTotal,
      scheduledTokensTotal: this.scheduledTokensTotal,
      finishedTotal: { ...this.finishedTotal },
      lastStep: { ...this.lastStep },
    };
  }

  /**
   * Preempts from the back of the running queue until its tokens fit the KV budget. Ends with
   * at least one request running: one alone always fits, as numTokens <= contextLimit <= budget.
   */
  private preemptForKvGrowth(plan: StepPlan, preemptedNow: Set<RequestState>): void {
    while (this.kvTokensReserved > this.config.kvTokenBudget) {
      const victim = this.running.last();
      if (victim === undefined) throw new Error('KV tokens reserved with no request running');
      this.preempt(victim, plan, preemptedNow);
    }
  }

  /**
   * Walks running requests that still prefill and waiting requests together in rank order, so
   * an interactive admission is not kept behind a batch job's long chunked prefill, and gives
   * each a chunk of the remaining token budget.
   */
  private planPrefillsAndAdmissions(plan: StepPlan, preemptedNow: Set<RequestState>, batchPrefillAllowed: boolean): void {
    const prefilling = [...this.running].filter((r) => !r.isDecodable);
    const waiting = [...this.waiting];
    let nextPrefill = 0;
    let nextWaiting = 0;
    let admitting = true;
    let batchPrefillTokensLeft = batchPrefillAllowed ? this.config.maxBatchPrefillTokens : 0;
    while (plan.budgetLeft > 0) {
      const running = prefilling[nextPrefill];
      const candidate = admitting ? waiting[nextWaiting] : undefined;
      const next = candidate === undefined || (running !== undefined && ranksBefore(running, candidate)) ? running : candidate;
      // Walking in rank order, what comes next has the priority of the prefills planned so far
      // or a lower one; the lower ones wait for a later step.
      const prefillPriority = plan.prefillPriority;
      if (next !== undefined && prefillPriority !== undefined && next.priority < prefillPriority) return;
      // Below interactive priority everything further is batch work too: its share is used up.
      if (next !== undefined && next.priority < Priority.interactive && batchPrefillTokensLeft === 0) return;
      if (candidate === undefined || (running !== undefined && ranksBefore(running, candidate))) {
        if (running === undefined) return;
        nextPrefill += 1;
        // It may have been preempted for priority by an admission earlier in this loop.
        if (running.status === 'running') batchPrefillTokensLeft -= this.planPrefill(running, plan, batchPrefillTokensLeft);
        continue;
      }
      nextWaiting += 1;
      if (preemptedNow.has(candidate) || !this.makeRoomFor(candidate, plan, preemptedNow)) {
        // Strict FCFS: nobody overtakes the best waiting request.
        admitting = false;
        continue;
      }
      this.admit(candidate, plan);
      batchPrefillTokensLeft -= this.planPrefill(candidate, plan, batchPrefillTokensLeft);
    }
  }

  /**
   * Whether `candidate` can get a row and fit its whole sequence in the KV budget, preempting
   * strictly lower-priority running requests (worst-ranked first, skipping shielded ones) if
   * the policy allows. Preempts nobody unless that makes the candidate fit.
   */
  private makeRoomFor(candidate: RequestState, plan: StepPlan, preemptedNow: Set<RequestState>): boolean {
    let rowsShort = this.running.size + 1 - this.config.maxSeqs;
    let kvShort = this.kvTokensReserved + candidate.numTokens - this.config.kvTokenBudget;
    if (rowsShort <= 0 && kvShort <= 0) return true;
    if (!this.config.priorityPreemption) return false;
    const victims: RequestState[] = [];
    for (const request of this.running.fromBack()) {
      if (rowsShort <= 0 && kvShort <= 0) break;
      // Worst-ranked first, so once one is not of lower priority, none further is.
      if (request.priority >= candidate.priority) break;
      if (request.numPreemptions >= this.config.preemptionShield) continue;
      victims.push(request);
      rowsShort -= 1;
      kvShort -= request.numTokens;
    }
    if (rowsShort > 0 || kvShort > 0) return false;
    for (const victim of victims) this.preempt(victim, plan, preemptedNow);
    this.priorityPreemptionsTotal += victims.length;
    return true;
  }

  /**
   * Plans the request's next prefill chunk: at most maxPrefillChunk tokens, and below
   * interactive priority at most what is left of this step's batch share (`batchTokensLeft`,
   * at least 1 here). Returns the tokens it took from that share.
   */
  private planPrefill(request: RequestState, plan: StepPlan, batchTokensLeft: number): number {
    const batch = request.priority < Priority.interactive;
    const length = Math.min(request.numTokensToCompute, this.config.maxPrefillChunk, plan.budgetLeft, batch ? batchTokensLeft : Infinity);
    plan.addPrefill(request, length);
    return batch ? length : 0;
  }

  private admit(request: RequestState, plan: StepPlan): void {
    this.waiting.remove(request);
    request.transition('running');
    this.running.insert(request);
    this.kvTokensReserved += request.numTokens;
    plan.recordAdmitted(request);
    this.startFromCachedPrefix(request, plan);
  }

  /**
   * Looks the admitted request's sequence up in the prefix cache; on a match it takes that row
   * over with the matched tokens computed. At most numTokens - 1 tokens are reused: the last one
   * is always computed, since its logits sample the next token.
   */
  private startFromCachedPrefix(request: RequestState, plan: StepPlan): void {
    if (!this.config.prefixCaching || request.tokenIds === undefined) return;
    const match = this.prefixCache.take(request.tokenIds, request.numTokens - 1);
    if (match !== undefined) request.numComputedTokens = match.length;
    plan.recordPrefixLookup(request, request.numTokens, match);
  }

  /**
   * Evicts cached prefixes, oldest first, until running requests and cached prefixes together
   * fit in maxSeqs rows and the KV budget (rule 5). Runs after admissions: cached rows and
   * tokens were counted as free while admitting.
   */
  private evictCachedPrefixes(plan: StepPlan): void {
    const { maxSeqs, kvTokenBudget } = this.config;
    while (this.running.size + this.prefixCache.size > maxSeqs || this.kvTokensReserved + this.prefixCache.tokens > kvTokenBudget) {
      const entry = this.prefixCache.evictOldest();
      if (entry === undefined) return;
      plan.recordEvicted(entry);
    }
  }

  /** Takes the row and KV away; the request keeps its generated tokens and queues again. */
  private preempt(request: RequestState, plan: StepPlan, preemptedNow: Set<RequestState>): void {
    this.running.remove(request);
    this.kvTokensReserved -= request.numTokens;
    request.transition('preempted');
    request.numComputedTokens = 0;
    request.numPreemptions += 1;
    this.waiting.insert(request);
    plan.recordPreempted(request);
    preemptedNow.add(request);
    this.preemptionsTotal += 1;
  }

  private finishReasonAfterSample(request: RequestState, stopped: ReadonlySet<string>): FinishReason | undefined {
    if (stopped.has(request.id)) return 'stop';
    if (request.numGeneratedTokens >= request.maxTokens) return 'length';
    if (request.numTokens >= this.config.contextLimit) return 'length';
    return undefined;
  }

  /**
   * Ends a request from any live state, releasing its row and KV tokens if it held them, or
   * caching them as a prefix when it ended normally (stop or length).
   */
  private finish(request: RequestState, reason: FinishReason): void {
    if (request.status === 'running') {
      this.running.remove(request);
      this.kvTokensReserved -= request.numTokens;
      if (reason === 'stop' || reason === 'length') this.cachePrefix(request);
    } else {
      this.waiting.remove(request);
    }
    request.transition('finished', reason);
    this.finishedSinceLastStep.push({ id: request.id, reason });
    this.finishedTotal[reason] += 1;
  }

  /**
   * Keeps a finishing request's row as a cached prefix of its computed tokens (those in the row;
   * the token sampled last was never fed). Rows too short to be matched are released as usual.
   * The row and at most its reserved tokens move from the request to the cache, so the rows and
   * the KV budget stay within bounds.
   */
  private cachePrefix(request: RequestState): void {
    if (!this.config.prefixCaching || request.tokenIds === undefined) return;
    const length = request.numComputedTokens;
    const entry = this.prefixCache.add(request.tokenIds.slice(0, length));
    if (entry !== undefined) this.retainedSinceLastStep.push({ id: request.id, entry, length });
  }
}
