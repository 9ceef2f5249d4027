import { Scheduler, type FinishReason, type SchedulerConfig, type SchedulerOutput } from '../scheduler/index.js';

/**
 * A stand-in for the ONNX runner: KV rows hold the token ids actually fed to them, and the
 * "model" samples the next token from a hash of its row's contents. So if the scheduler ever
 * planned a chunk onto the wrong past, skipped tokens, or lost KV on recompute, the sampled
 * tokens would differ from a run without preemption. It also checks every promise the
 * scheduler's output makes to the runner, and throws on the first broken one.
 */
export class FakeRunner {
  /** The tokens in each request's KV row, by request id. */
  readonly rows = new Map<string, number[]>();
  /** The tokens in each cached prefix's row, by cache entry. */
  readonly cached = new Map<number, number[]>();
  decodeCalls = 0;
  prefillCalls = 0;

  constructor(
    private readonly maxSeqs: number,
    private readonly maxLen: number,
  ) {}

  /**
   * Releases, caches and allocates rows as the output says (steps 1-3 of SchedulerOutput's
   * contract). A reused prefix must hold exactly the admitted sequence's first tokens.
   */
  applyRowChanges(output: SchedulerOutput, sequences: ReadonlyMap<string, number[]>): void {
    const retained = new Map(output.retained.map((r) => [r.id, r]));
    for (const { id } of output.finished) {
      const prefix = retained.get(id);
      const row = this.rows.get(id);
      if (prefix !== undefined) {
        if (row === undefined || row.length !== prefix.length) throw new Error(`${id} cached as ${prefix.length} tokens but its row holds ${row?.length}`);
        this.cached.set(prefix.entry, row);
      }
      this.rows.delete(id);
    }
    for (const id of output.preempted) {
      if (!this.rows.delete(id)) throw new Error(`preempted ${id} held no row`);
    }
    for (const entry of output.evicted) {
      if (!this.cached.delete(entry)) throw new Error(`evicted prefix ${entry} held no row`);
    }
    const reused = new Map(output.reused.map((r) => [r.id, r]));
    for (const id of output.admitted) {
      if (this.rows.has(id)) throw new Error(`admitted ${id} already holds a row`);
      if (this.rows.size + this.cached.size >= this.maxSeqs && !reused.has(id)) throw new Error(`no free row for ${id}`);
      const prefix = reused.get(id);
      if (prefix === undefined) {
        this.rows.set(id, []);
        continue;
      }
      const row = this.cached.get(prefix.entry);
      if (row === undefined) throw new Error(`${id} reuses prefix ${prefix.entry}, which holds no row`);
      const sequence = sequences.get(id)!;
      if (prefix.length >= sequence.length || row.slice(0, prefix.length).some((token, i) => token !== sequence[i])) {
        throw new Error(`${id} reuses ${prefix.length} tokens of prefix ${prefix.entry}, which are not its own first tokens`);
      }
      this.cached.delete(prefix.entry);
      // The positions after the prefix are overwritten as the request computes.
      this.rows.set(id, row.slice(0, prefix.length));
    }
  }

  /** Runs the step on `sequences` (prompt + generated tokens per id); returns sampled tokens. */
  execute(output: SchedulerOutput, sequences: ReadonlyMap<string, number[]>): Map<string, number> {
    const sampled = new Map<string, number>();
    const seen = new Set<string>();
    const once = (id: string) => {
      if (seen.has(id)) throw new Error(`${id} scheduled twice in step ${output.step}`);
      seen.add(id);
    };
    if (output.decode.length > 0) this.decodeCalls += 1;
    for (const { id, position } of output.decode) {
      once(id);
      const row = this.row(id);
      const sequence = sequences.get(id)!;
      if (row.length !== position || position === 0) throw new Error(`decode ${id} at ${position} onto ${row.length}`);
      if (position !== sequence.length - 1) throw new Error(`decode ${id} is not at the end of its sequence`);
      this.append(id, row, sequence.slice(position, position + 1));
      sampled.set(id, sampleFromKv(row));
    }
    for (const { id, start, length, samples } of output.prefill) {
      // Each chunk is its own call at batch size 1.
      this.prefillCalls += 1;
      once(id);
      const row = this.row(id);
      const sequence = sequences.get(id)!;
      if (row.length !== start) throw new Error(`chunk of ${id} starts at ${start} onto ${row.length}`);
      if (length < 1 || start + length > sequence.length) throw new Error(`chunk of ${id} runs past its sequence`);
      if (samples !== (start + length === sequence.length)) throw new Error(`chunk of ${id} has wrong samples flag`);
      this.append(id, row, sequence.slice(start, start + length));
      if (samples) sampled.set(id, sampleFromKv(row));
    }
    return sampled;
  }

  /** KV positions held by running requests and cached prefixes. */
  kvTokensHeld(): number {
    let total = 0;
    for (const row of [...this.rows.values(), ...this.cached.values()]) total += row.length;
    return total;
  }

  private row(id: string): number[] {
    const row = this.rows.get(id);
    if (row === undefined) throw new Error(`${id} scheduled without a row`);
    return row;
  }

  private append(id: string, row: number[], tokens: number[]): void {
    row.push(...tokens);
    if (row.length > this.maxLen) throw new Error(`row of ${id} overflows maxLen`);
  }
}

/** A deterministic function of the whole KV row (FNV-1a over the token ids), in [1, 1000). */
export function sampleFromKv(row: readonly number[]): number {
  let hash = 0x811c9dc5;
  for (const token of row) hash = Math.imul(hash ^ token, 0x01000193) >>> 0;
  return 1 + (hash % 999);
}

export interface SubmitOptions {
  promptLength: number;
  /**
   * The prompt's tokens (promptLength of them), e.g. an earlier request's whole sequence plus a
   * new turn; by default derived from the id, so no two requests share a prefix.
   */
  prompt?: number[];
  maxTokens: number;
  priority?: number;
  /** Report 'stop' once this many tokens were generated. */
  stopAfter?: number;
  /** Report 'stop' when the model samples a token divisible by this (content-dependent stops). */
  stopDivisor?: number;
}

/**
 * The engine loop around a real Scheduler and the FakeRunner: holds token sequences, decides
 * stops, and checks after every step that the scheduler's accounts match the runner's rows and
 * that every budget held.
 */
export class FakeEngine {
  readonly scheduler: Scheduler;
  readonly runner: FakeRunner;
  readonly sequences = new Map<string, number[]>();
  /** Final sequence and reason of each request, recorded when output.finished reports it. */
  readonly results = new Map<string, { tokens: number[]; reason: FinishReason; generated: number }>();
  /** What each request must end with, computed at submit by generating alone, without a scheduler. */
  readonly expected = new Map<string, { tokens: number[]; reason: FinishReason }>();
  readonly outputs: SchedulerOutput[] = [];
  private readonly options = new Map<string, SubmitOptions>();

  constructor(config: SchedulerConfig) {
    this.scheduler = new Scheduler(config);
    const { maxSeqs, maxLen } = this.scheduler.config;
    this.runner = new FakeRunner(maxSeqs, maxLen);
  }

  /**
   * Adds a request whose prompt is `options.prompt` or derived from its id. The scheduler gets
   * the live sequence, which step() extends with each sampled token (as the engine does).
   */
  submit(id: string, options: SubmitOptions): void {
    const prompt = options.prompt?.slice() ?? Array.from({ length: options.promptLength }, (_, i) => 1000 + ((hashId(id) + i * 7919) % 50_000));
    if (prompt.length !== options.promptLength) throw new Error(`${id}: prompt of ${prompt.length} tokens, promptLength ${options.promptLength}`);
    this.scheduler.add({ id, promptLength: options.promptLength, maxTokens: options.maxTokens, priority: options.priority, tokenIds: prompt });
    this.sequences.set(id, prompt);
    this.options.set(id, options);
    this.expected.set(id, generateAlone(prompt, options, this.scheduler.config.contextLimit));
  }

  /**
   * One engine step: schedule, execute, update, with every check. `beforeUpdate` runs between
   * execute and update, where a real engine may receive aborts.
   */
  step(beforeUpdate?: (output: SchedulerOutput) => void): SchedulerOutput {
    const { scheduler, runner } = this;
    const { maxNumBatchedTokens, kvTokenBudget } = scheduler.config;
    const output = scheduler.schedule();
    this.outputs.push(output);
    for (const { id, reason } of output.finished) {
      if (this.results.has(id)) throw new Error(`${id} reported finished twice`);
      const tokens = this.sequences.get(id)!;
      const generated = tokens.length - this.options.get(id)!.promptLength;
      this.results.set(id, { tokens, reason, generated });
      this.sequences.delete(id);
      this.options.delete(id);
    }
    runner.applyRowChanges(output, this.sequences);
    // Plain checks rather than expect(): this runs thousands of times per soak test.
    const { numRunning, numCachedPrefixes, kvTokensCached } = scheduler.stats();
    if (runner.rows.size !== numRunning) throw new Error(`runner holds ${runner.rows.size} rows, scheduler runs ${numRunning}`);
    if (runner.cached.size !== numCachedPrefixes) throw new Error(`runner caches ${runner.cached.size} rows, scheduler ${numCachedPrefixes}`);
    if (runner.rows.size + runner.cached.size > scheduler.config.maxSeqs) throw new Error(`step ${output.step} holds more rows than maxSeqs`);
    let cachedTokens = 0;
    for (const row of runner.cached.values()) cachedTokens += row.length;
    if (cachedTokens !== kvTokensCached) throw new Error(`runner caches ${cachedTokens} tokens, scheduler ${kvTokensCached}`);
    if (output.numScheduledTokens > maxNumBatchedTokens) throw new Error(`step ${output.step} over the token budget`);

    const sampled = runner.execute(output, this.sequences);
    if (runner.kvTokensHeld() > kvTokenBudget) throw new Error(`step ${output.step} over the KV token budget`);

    const stopped: string[] = [];
    for (const [id, token] of sampled) {
      const sequence = this.sequences.get(id);
      // Aborted after schedule(): the engine drops whatever it sampled.
      if (sequence === undefined || scheduler.get(id)?.status !== 'running') continue;
      sequence.push(token);
      const options = this.options.get(id)!;
      const generated = sequence.length - options.promptLength;
      if (generated === options.stopAfter || (options.stopDivisor !== undefined && token % options.stopDivisor === 0)) {
        stopped.push(id);
      }
    }
    beforeUpdate?.(output);
    scheduler.update(output, { stopped });
    for (const [id, row] of runner.rows) {
      const state = scheduler.get(id)!;
      if (state.status === 'running' && row.length !== state.numComputedTokens) {
        throw new Error(`${id}: row holds ${row.length} tokens, scheduler counts ${state.numComputedTokens} computed`);
      }
    }
    return output;
  }

  /** Steps until the scheduler is idle; fails past `maxSteps`. */
  runToIdle(maxSteps = 10_000): number {
    let steps = 0;
    while (this.scheduler.hasWork()) {
      if (++steps > maxSteps) throw new Error(`not idle after ${maxSteps} steps`);
      this.step();
    }
    return steps;
  }
}

/**
 * The reference: the same fake model generating for one request on its own, one token per
 * step. A scheduled run must end every request that was not aborted with exactly this.
 */
function generateAlone(prompt: number[], options: SubmitOptions, contextLimit: number): { tokens: number[]; reason: FinishReason } {
  const tokens = [...prompt];
  for (let generated = 1; ; generated++) {
    const token = sampleFromKv(tokens);
    tokens.push(token);
    if (generated === options.stopAfter || (options.stopDivisor !== undefined && token % options.stopDivisor === 0)) {
      return { tokens, reason: 'stop' };
    }
    if (generated >= options.maxTokens || tokens.length >= contextLimit) return { tokens, reason: 'length' };
  }
}

function hashId(id: string): number {
  let hash = 7;
  for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) >>> 0;
  return hash;
}

/** A small seeded PRNG (mulberry32) so randomized tests replay exactly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
