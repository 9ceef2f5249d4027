import {
  ContextLengthExceededError,
  Priority,
  Scheduler,
  SchedulerError,
  type FinishedRequest,
  type SchedulerConfig,
  type SchedulerOutput,
} from '../../scheduler/index.js';
import { ServeError } from '../errors.js';
import type { ModelRunner } from '../model/model-runner.js';
import type { GrammarCompiler } from './constraints/grammar-compiler.js';
import type { TokenConstraint } from './constraints/token-constraint.js';
import type { TokenTextDecoder } from './detokenizer.js';
import type { ChoiceDelta, EngineEvent, FinishReason, GenerationRequest } from './generation.js';
import { KvRows } from './kv-rows.js';
import { RequestGroup } from './request-group.js';
import { Sequence } from './sequence.js';
import { StepRecorder } from './step-recorder.js';
import type { StepReport } from './step-report.js';

export interface EngineCoreOptions {
  runner: ModelRunner;
  /** Null for models without a tokenizer (token ids only). */
  decoder: TokenTextDecoder | null;
  eosTokenIds: readonly number[];
  /** maxSeqs and maxLen come from the runner's KV pool. */
  scheduler: Omit<SchedulerConfig, 'maxSeqs' | 'maxLen'>;
  /** Epoch milliseconds; injectable for tests. */
  clock?: () => number;
  /** Compiles requests' grammars against the model's vocabulary; absent without a tokenizer. */
  grammars?: GrammarCompiler | null;
}

export interface StepResult {
  events: EngineEvent[];
  report: StepReport;
}

/** Logits of one sequence's last position, a view into the step's output. */
type SampledRows = Map<string, Float32Array>;

/** The grammar masks of a step's constrained sequences, by sequence id ([ceil(vocab / 32)] words each). */
type StepMasks = Map<string, Int32Array>;

/** A step's delta events by sequence id, held until the scheduler says which sequences finished. */
type StepDeltas = Map<string, EngineEvent & { type: 'delta' }>;

/**
 * The engine loop, one step at a time: schedule -> execute -> sample -> update -> emit.
 * The scheduler decides which sequences compute which tokens (counts only); KvRows maps them to
 * rows of the runner's KV pool; the runner executes; each Sequence samples and detokenizes.
 */
export class EngineCore {
  readonly scheduler: Scheduler;
  private readonly runner: ModelRunner;
  private readonly decoder: TokenTextDecoder | null;
  private readonly eosTokenIds: readonly number[];
  private readonly rows: KvRows<string>;
  private readonly groups = new Map<string, RequestGroup>();
  /** Live sequences by scheduler id, each pointing to its group. */
  private readonly sequences = new Map<string, { sequence: Sequence; group: RequestGroup }>();
  private readonly clock: () => number;
  private readonly grammars: GrammarCompiler | null;
  /** Requests whose grammar is compiling, and whether an abort came meanwhile. */
  private readonly compiling = new Map<string, { aborted: boolean }>();
  /** Final events produced outside a step (aborts), delivered with the next step's events. */
  private pending: EngineEvent[] = [];

  constructor(options: EngineCoreOptions) {
    this.runner = options.runner;
    this.decoder = options.decoder;
    this.eosTokenIds = options.eosTokenIds;
    this.clock = options.clock ?? (() => performance.timeOrigin + performance.now());
    this.grammars = options.grammars ?? null;
    const { maxSeqs, maxLen } = options.runner.info;
    this.scheduler = new Scheduler({ ...options.scheduler, maxSeqs, maxLen });
    // A row holds at most the sequence's tokens; copying one position too many is harmless.
    this.rows = new KvRows(maxSeqs, options.runner, (id) => this.entry(id).sequence.tokenIds.length);
  }

  /** The most tokens (prompt + output) one sequence may reach. */
  get contextLimit(): number {
    return this.scheduler.config.contextLimit;
  }

  /** KV rows held by sequences (0 when idle: nothing leaks). */
  get rowsInUse(): number {
    return this.rows.used;
  }

  /** KV rows kept as cached prefixes; always the scheduler's count of them after a step. */
  get rowsCached(): number {
    return this.rows.cached;
  }

  hasWork(): boolean {
    return this.pending.length > 0 || this.scheduler.hasWork();
  }

  /** Releases the model session; the core is unusable afterwards. */
  async close(): Promise<void> {
    await this.runner.close();
  }

  /**
   * Queues a request like add(), first compiling its grammar, if it has one, into a matcher per
   * choice (the compile is cached by grammar, so only a new grammar waits). The engine keeps
   * stepping meanwhile; an abort that arrives during the compile drops the request. A request
   * without a grammar is added before this returns its promise.
   */
  async addRequest(request: GenerationRequest): Promise<void> {
    if (!request.grammar) return this.add(request);
    if (!this.grammars) {
      throw new ServeError('invalid_request_error', 'this model has no tokenizer, so its output cannot follow a grammar', { code: 'unsupported_schema' });
    }
    if (this.groups.has(request.id) || this.compiling.has(request.id)) {
      throw new ServeError('invalid_request_error', `request id ${request.id} is already in use`);
    }
    const state = { aborted: false };
    this.compiling.set(request.id, state);
    let constraints: TokenConstraint[];
    try {
      constraints = await this.grammars.constraints(request.grammar, request.n);
    } finally {
      this.compiling.delete(request.id);
    }
    if (state.aborted) {
      for (const constraint of constraints) constraint.release();
      return;
    }
    try {
      this.add(request, constraints);
    } catch (err) {
      for (const constraint of constraints) constraint.release();
      throw err;
    }
  }

  /**
   * Queues a request (its n choices), with one grammar matcher per choice when constrained (see
   * addRequest). Throws ServeError when it can never run.
   */
  add(request: GenerationRequest, constraints?: readonly TokenConstraint[]): void {
    if (this.groups.has(request.id)) {
      throw new ServeError('invalid_request_error', `request id ${request.id} is already in use`);
    }
    const sequences = Array.from({ length: request.n }, (_, choice) => new Sequence({
      id: `${request.id}#${choice}`,
      choice,
      promptTokenIds: request.promptTokenIds,
      sampling: { ...request.sampling, seed: choiceSeed(request.sampling.seed, choice) },
      stop: request.stop,
      eosTokenIds: this.eosTokenIds,
      decoder: this.decoder,
      constraint: constraints?.[choice],
    }));
    const group = new RequestGroup(request, sequences);
    const added: string[] = [];
    try {
      for (const sequence of sequences) {
        this.scheduler.add({
          id: sequence.id,
          promptLength: sequence.promptLength,
          maxTokens: request.maxTokens,
          priority: request.priority === 'batch' ? Priority.batch : Priority.interactive,
          // Read by the scheduler's prefix cache: advance() appends each token before update().
          tokenIds: sequence.tokenIds,
        });
        added.push(sequence.id);
      }
    } catch (err) {
      for (const id of added) this.scheduler.abort(id);
      throw toServeError(err);
    }
    this.groups.set(request.id, group);
    for (const sequence of sequences) this.sequences.set(sequence.id, { sequence, group });
  }

  /**
   * Ends a request in whatever state it is: its choices finish with `reason` and its rows are
   * freed at the next step. Unknown or finished requests are ignored (the race with a natural
   * finish is normal).
   */
  abort(requestId: string, reason: FinishReason = 'abort'): void {
    const compiling = this.compiling.get(requestId);
    if (compiling) compiling.aborted = true;
    const group = this.groups.get(requestId);
    if (!group || group.done) return;
    for (const sequence of group.sequences) {
      if (group.isFinished(sequence)) continue;
      this.scheduler.abort(sequence.id, reason);
      this.finishSequence(sequence, group, reason, this.pending);
    }
  }

  /**
   * One turn of the loop: schedule -> execute -> sample -> update -> emit. A StepRecorder keeps
   * the step's timings and latencies and writes its report.
   */
  async step(): Promise<StepResult> {
    const recorder = new StepRecorder(this.clock);
    const output = this.scheduler.schedule();
    this.applyRowChanges(output, recorder.startedAt);
    const events = this.takePending();
    const logits = await this.executeOrFail(output, recorder, events);
    const masks = await this.grammarMasks(logits);
    const { deltas, stopped } = this.sample(logits, masks, recorder);
    const { finished } = this.scheduler.update(output, { stopped });
    this.emit(deltas, finished, events);
    const report = recorder.report(output, logits.size, this.scheduler.stats(), this.runner.info.kvBytesPerToken);
    return { events, report };
  }

  /** The final events of aborts since the last step, which open this step's events. */
  private takePending(): EngineEvent[] {
    const events = this.pending;
    this.pending = [];
    return events;
  }

  /**
   * Runs the step's forward passes, timed. If they throw, every request with work in the step
   * fails (its error event goes to `events`) and nothing is sampled; the engine goes on.
   */
  private async executeOrFail(output: SchedulerOutput, recorder: StepRecorder, events: EngineEvent[]): Promise<SampledRows> {
    try {
      return await recorder.timeForward(() => this.execute(output));
    } catch (err) {
      this.failStep(output, err, events);
      return new Map();
    }
  }

  /**
   * The allowed-token masks of the constrained sequences that sample this step, built where
   * the sampler runs, after the forward passes and before any token is chosen.
   */
  private async grammarMasks(logitsById: SampledRows): Promise<StepMasks> {
    const masks: StepMasks = new Map();
    for (const id of logitsById.keys()) {
      const { sequence, group } = this.entry(id);
      if (sequence.constraint === null || group.isFinished(sequence)) continue;
      masks.set(id, await sequence.constraint.allowedTokens());
    }
    return masks;
  }

  /**
   * Each sequence with logits takes its next token (all at one `now`, the end of the forward
   * passes), within its grammar's mask if it has one. Returns each one's delta, not yet
   * emitted, and the ids that hit a stop.
   */
  private sample(logitsById: SampledRows, masks: StepMasks, recorder: StepRecorder): { deltas: StepDeltas; stopped: string[] } {
    const now = this.clock();
    const stopped: string[] = [];
    const deltas: StepDeltas = new Map();
    for (const [id, logits] of logitsById) {
      const { sequence, group } = this.entry(id);
      if (group.isFinished(sequence)) continue; // aborted while the step ran
      const result = sequence.advance(logits, masks.get(id));
      recorder.recordToken(group.recordToken(sequence, now));
      if (result.stopped) stopped.push(id);
      deltas.set(id, { type: 'delta', requestId: group.id, delta: result.delta });
    }
    return { deltas, stopped };
  }

  /**
   * Appends the step's deltas to `events`: a sequence the scheduler has just finished gets one
   * final delta (its step delta merged in) instead, followed by its request's `done` when last.
   */
  private emit(deltas: StepDeltas, finished: readonly FinishedRequest[], events: EngineEvent[]): void {
    const finishedIds = new Set(finished.map((f) => f.id));
    for (const [id, event] of deltas) if (!finishedIds.has(id)) events.push(event);
    for (const { id, reason } of finished) {
      const { sequence, group } = this.entry(id);
      this.finishSequence(sequence, group, reason, events, deltas.get(id)?.delta);
    }
  }

  /**
   * Applies the schedule's row changes in SchedulerOutput's order: finished sequences' rows are
   * released or kept as cached prefixes, preempted ones released, evicted prefixes released, then
   * admitted sequences get a free row or take over the cached prefix they start from.
   */
  private applyRowChanges(output: SchedulerOutput, now: number): void {
    const retained = new Map(output.retained.map((r) => [r.id, r]));
    for (const { id } of output.finished) {
      const prefix = retained.get(id);
      if (prefix !== undefined) this.rows.retain(id, prefix.entry, prefix.length);
      else if (this.rows.has(id)) this.rows.release(id);
      this.forget(id);
    }
    for (const id of output.preempted) this.rows.release(id);
    for (const entry of output.evicted) this.rows.evict(entry);
    const reused = new Map(output.reused.map((r) => [r.id, r]));
    for (const id of output.admitted) {
      const prefix = reused.get(id);
      if (prefix !== undefined) this.rows.adopt(id, prefix.entry);
      else this.rows.admit(id);
      const { sequence, group } = this.entry(id);
      group.recordAdmission(sequence, now, prefix?.length ?? 0);
    }
  }

  /** Runs the step's forward passes; returns the logits of every sequence that samples. */
  private async execute(output: SchedulerOutput): Promise<SampledRows> {
    const sampled: SampledRows = new Map();
    if (output.decode.length > 0) {
      // A sequence whose prompt ends with a one-token chunk decodes without ever being a
      // prefill row's chunk owner again: move it into the decode block first.
      for (const { id } of output.decode) this.rows.startDecoding(id);
      const batch = this.rows.decodeBatch();
      if (batch.length !== output.decode.length) {
        throw new Error(`decode block holds ${batch.length} rows but ${output.decode.length} decodes were scheduled`);
      }
      const position = new Map(output.decode.map((d) => [d.id, d.position]));
      const pastLengths = batch.map((id) => position.get(id)!);
      const tokens = batch.map((id, i) => [this.entry(id).sequence.tokenIds[pastLengths[i]]]);
      const logits = await this.runner.forward({ firstRow: 0, tokens, pastLengths });
      const vocab = this.runner.info.vocabSize;
      batch.forEach((id, i) => sampled.set(id, logits.subarray(i * vocab, (i + 1) * vocab)));
    }
    for (const chunk of output.prefill) {
      const { sequence } = this.entry(chunk.id);
      const logits = await this.runner.forward({
        firstRow: this.rows.row(chunk.id),
        tokens: [sequence.tokenIds.slice(chunk.start, chunk.start + chunk.length)],
        pastLengths: [chunk.start],
      });
      if (chunk.samples) sampled.set(chunk.id, logits);
    }
    return sampled;
  }

  /** A forward pass threw: every request with work in this step fails; the engine goes on. */
  private failStep(output: SchedulerOutput, err: unknown, events: EngineEvent[]): void {
    const error = new ServeError('server_error', `the model failed during a forward pass: ${(err as Error).message ?? err}`, {
      code: 'model_error',
    });
    const failed = new Set<RequestGroup>();
    for (const { id } of [...output.decode, ...output.prefill]) failed.add(this.entry(id).group);
    for (const group of failed) {
      for (const sequence of group.sequences) {
        if (group.isFinished(sequence)) continue;
        this.scheduler.abort(sequence.id, 'error');
        sequence.release();
        group.recordFinish({ choice: sequence.choice, text: '', tokenIds: [], logprobs: null, finishReason: 'error' });
      }
      events.push({ type: 'error', requestId: group.id, error: error.toJSON() });
    }
  }

  /**
   * Emits a choice's final delta (merged with this step's delta for it, if any) and, when it was
   * the request's last open choice, the request's `done` event.
   */
  private finishSequence(
    sequence: Sequence,
    group: RequestGroup,
    reason: FinishReason,
    events: EngineEvent[],
    stepDelta?: ChoiceDelta,
  ): void {
    const last = sequence.finish(reason);
    const delta = stepDelta ? { ...stepDelta, text: stepDelta.text + last.text, finishReason: last.finishReason, stopReason: last.stopReason } : last;
    group.recordFinish(delta);
    events.push({ type: 'delta', requestId: group.id, delta });
    if (group.done) {
      const now = this.clock();
      events.push({ type: 'done', requestId: group.id, usage: group.usage(), timings: group.finalTimings(now), finishReasons: group.reasons() });
    }
  }

  private entry(id: string): { sequence: Sequence; group: RequestGroup } {
    const entry = this.sequences.get(id);
    if (!entry) throw new Error(`unknown sequence ${id}`);
    return entry;
  }

  /** Drops a sequence the scheduler has reported finished; the group goes with its last one. */
  private forget(id: string): void {
    const entry = this.sequences.get(id);
    if (!entry) return;
    this.sequences.delete(id);
    if (entry.group.sequences.every((s) => !this.sequences.has(s.id))) this.groups.delete(entry.group.id);
  }
}

/**
 * The scheduler's refusals as the server's one error type, with the scheduler's own codes. No
 * `param`: the engine does not know which request field held the prompt. The API layer checks
 * the context before it submits (src/api/generation/plan.ts) and names the field there.
 */
function toServeError(err: unknown): unknown {
  if (err instanceof ContextLengthExceededError) {
    return new ServeError('invalid_request_error', err.message, { code: 'context_length_exceeded' });
  }
  if (err instanceof SchedulerError) return new ServeError('invalid_request_error', err.message, { code: err.code });
  return err;
}

/**
 * Each choice of a seeded request gets its own seed, so `n` choices differ while every one is
 * still reproducible; choice 0 keeps the request's seed, so n=1 matches a plain seeded request.
 */
function choiceSeed(seed: number | null, choice: number): number | null {
  if (seed === null || choice === 0) return seed;
  // A 32-bit integer mix (splitmix-style) of seed and choice; any fixed bijection-like mix works.
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(choice, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}
