import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { EngineInfo } from '../../src/engine/engine-info.js';
import type { EngineEvent, GenerationRequest } from '../../src/engine/generation.js';
import { DEFAULT_SAMPLING_PARAMS } from '../../src/engine/sampling/sampling-params.js';
import type { StepReport } from '../../src/engine/step-report.js';
import { EngineClient } from '../../src/engine/worker/engine-client.js';
import { startCpuMeter } from './cpu-share.js';
import { describeMachine, type MachineInfo } from './machine-info.js';
import { summarizeSteps, type StepSummary } from './step-summary.js';
import { syntheticTokenIds } from './synthetic-tokens.js';
import { runTransformersBaseline, type BaselineResult } from './transformers-baseline.js';

export interface EngineBenchOptions {
  modelDir: string;
  /** onnxruntime intra-op threads for the engine and the baseline; undefined: its default. */
  threads?: number;
  /** Concurrent streams per phase, e.g. [1, 2, 4, 8]; the engine gets max(concurrency) rows. */
  concurrency: number[];
  /**
   * Times the whole concurrency sweep runs. On a shared machine a phase can lose cores to other
   * work; the best round of each concurrency is the least disturbed, and is what scaling uses.
   */
  rounds: number;
  promptTokens: number;
  /** Tokens every request generates (ignore_eos, so exactly this many). */
  maxTokens: number;
  /** Tokens of the warm-up request run before the first phase. */
  warmupTokens: number;
  /** How many of the largest phase's requests the baseline runs one after another; 0 skips it. */
  baselineRequests: number;
  log?: (line: string) => void;
}

/** Event-loop lag of the main thread over a phase, ms: how late a timer ran (see startLagMonitor). */
export interface EventLoopLag {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface EnginePhase {
  round: number;
  concurrency: number;
  requests: number;
  completionTokens: number;
  /** From the first submit to the last `done`, prefill included. */
  wallSeconds: number;
  endToEndTokPerSec: number;
  /** Steps where every stream decoded and nothing prefilled: the steady state. */
  fullBatch: StepSummary;
  /** Every step of the phase. */
  allSteps: StepSummary;
  eventLoopLag: EventLoopLag;
  /** The process's share of the machine's CPU over the phase (see cpu-share.ts). */
  cpuShare: number;
  loadAverage: { start: number[]; end: number[] };
}

export interface EngineBenchResult {
  kind: 'engine';
  machine: MachineInfo;
  options: Omit<EngineBenchOptions, 'log'>;
  engine: EngineInfo;
  /** Every phase of every round, in the order run. */
  phases: EnginePhase[];
  /** Per concurrency, the round with the highest full-batch decode rate. */
  best: EnginePhase[];
  /** Each best phase's full-batch decode tok/s over the best single-stream (or smallest) phase's. */
  scaling: { concurrency: number; speedup: number }[];
  baseline: (BaselineResult & { requests: number; eventLoopLag: EventLoopLag; cpuShare: number; loadAverage: { start: number[]; end: number[] } }) | null;
}

/**
 * The engine benchmark (issue 3), in one run: the engine in its worker thread (EngineClient, the
 * server's own path) decoding 1, 2, 4, 8 ... concurrent greedy streams of fixed length, with the
 * step reports giving the steady-state decode rate and the engine's own overhead, and the main
 * thread's event-loop lag measured meanwhile; then the same requests one after another through
 * @huggingface/transformers' generate() on the same files.
 */
export async function runEngineBench(options: EngineBenchOptions): Promise<EngineBenchResult> {
  const log = options.log ?? (() => {});
  const machine = describeMachine();
  const maxSeqs = Math.max(...options.concurrency);
  log(`starting the engine on ${options.modelDir} with ${maxSeqs} rows`);
  // The server's defaults apart from the rows: the default row length (min(context, 8192)) and
  // KV budget, so the run pays whatever those cost per step. Prefix caching is off: every round
  // sends the same prompts, whose prefill it would skip from the second round on.
  const client = await EngineClient.start({ modelDir: options.modelDir, device: 'cpu', threads: options.threads, maxSeqs, scheduler: { prefixCaching: false } });
  // EngineClient's step listeners cannot be removed, so one listener feeds whichever phase runs.
  const steps: { sink: StepReport[] | null } = { sink: null };
  client.onStep((report) => steps.sink?.push(report));
  const phases: EnginePhase[] = [];
  try {
    log(`engine loaded in ${client.info.loadSeconds.toFixed(1)} s; warm-up request of ${options.warmupTokens} tokens`);
    await runPhase(client, steps, 0, [benchRequest('warmup', syntheticTokenIds(options.promptTokens, 99), options.warmupTokens)]);
    for (let round = 1; round <= options.rounds; round++) {
      for (const concurrency of options.concurrency) {
        const phase = await runPhase(client, steps, round, phaseRequests(concurrency, options, round));
        phases.push(phase);
        log(
          `round ${round}, ${concurrency} stream(s): ${phase.fullBatch.decodeTokPerSec.toFixed(2)} tok/s decode, ` +
            `${phase.endToEndTokPerSec.toFixed(2)} tok/s end to end, CPU share ${phase.cpuShare.toFixed(2)}, lag p99 ${phase.eventLoopLag.p99Ms.toFixed(1)} ms`,
        );
      }
    }
  } finally {
    await client.close();
  }

  const best = options.concurrency.map((c) =>
    phases.filter((p) => p.concurrency === c).reduce((a, b) => (b.fullBatch.decodeTokPerSec > a.fullBatch.decodeTokPerSec ? b : a)),
  );
  const single = best.find((p) => p.concurrency === 1) ?? best[0];
  const scaling = best.map((p) => ({ concurrency: p.concurrency, speedup: p.fullBatch.decodeTokPerSec / single.fullBatch.decodeTokPerSec }));

  let baseline: EngineBenchResult['baseline'] = null;
  if (options.baselineRequests > 0) {
    const requests = phaseRequests(maxSeqs, options, 0).slice(0, options.baselineRequests);
    log(`baseline: @huggingface/transformers generate(), ${requests.length} requests one after another`);
    const lag = startLagMonitor();
    const cpu = startCpuMeter();
    const start = loadavg();
    const result = await runTransformersBaseline(
      options.modelDir,
      requests.map((r) => ({ promptTokenIds: r.promptTokenIds, newTokens: r.maxTokens })),
      options.threads,
    );
    baseline = { ...result, requests: requests.length, eventLoopLag: lag.stop(), cpuShare: cpu.stop(), loadAverage: { start, end: loadavg() } };
    log(`baseline: ${result.decodeTokPerSec.toFixed(2)} tok/s decode, ${result.endToEndTokPerSec.toFixed(2)} tok/s end to end`);
  }
  const { log: _log, ...recorded } = options;
  return { kind: 'engine', machine, options: recorded, engine: client.info, phases, best, scaling, baseline };
}

/** The requests of one phase: distinct prompts (stream 100 + i), the same length and count; ids unique per round. */
function phaseRequests(concurrency: number, options: EngineBenchOptions, round: number): GenerationRequest[] {
  return Array.from({ length: concurrency }, (_, i) => benchRequest(`round${round}-c${concurrency}-${i}`, syntheticTokenIds(options.promptTokens, 100 + i), options.maxTokens));
}

function benchRequest(id: string, promptTokenIds: number[], maxTokens: number): GenerationRequest {
  return {
    id,
    promptTokenIds,
    sampling: { ...DEFAULT_SAMPLING_PARAMS, temperature: 0, ignoreEos: true },
    n: 1,
    maxTokens,
    stop: [],
    priority: 'interactive',
    arrivalTime: Date.now(),
  };
}

/**
 * Submits every request at once and consumes their streams to the end, recording the step
 * reports and the main thread's event-loop delay meanwhile.
 */
async function runPhase(client: EngineClient, steps: { sink: StepReport[] | null }, round: number, requests: GenerationRequest[]): Promise<EnginePhase> {
  const reports: StepReport[] = [];
  steps.sink = reports;
  const lag = startLagMonitor();
  const cpu = startCpuMeter();
  const start = loadavg();
  const started = performance.now();
  try {
    const tokens = await Promise.all(requests.map((request) => consume(client.submit(request), request)));
    const wallSeconds = (performance.now() - started) / 1000;
    const completionTokens = tokens.reduce((a, b) => a + b, 0);
    const concurrency = requests.length;
    return {
      round,
      concurrency,
      requests: requests.length,
      completionTokens,
      wallSeconds,
      endToEndTokPerSec: completionTokens / wallSeconds,
      fullBatch: summarizeSteps(reports.filter((r) => r.decodeBatchSize === concurrency && r.prefillChunks === 0)),
      allSteps: summarizeSteps(reports),
      eventLoopLag: lag.stop(),
      cpuShare: cpu.stop(),
      loadAverage: { start, end: loadavg() },
    };
  } catch (err) {
    throw new Error(`round ${round}, ${requests.length} stream(s) failed: ${(err as Error).message}`);
  } finally {
    steps.sink = null;
  }
}

/** Reads a request's stream to its end; returns its completion tokens (checked against maxTokens). */
async function consume(stream: AsyncIterable<EngineEvent>, request: GenerationRequest): Promise<number> {
  let tokens = 0;
  for await (const event of stream) {
    if (event.type === 'delta') tokens += event.delta.tokenIds.length;
    if (event.type === 'done' && event.usage.completionTokens !== request.maxTokens) {
      throw new Error(`request ${request.id} generated ${event.usage.completionTokens} tokens, not ${request.maxTokens}`);
    }
  }
  return tokens;
}

/** The sampling timer of the lag monitor, ms (prom-client's default). */
const LAG_RESOLUTION_MS = 10;

/**
 * perf_hooks' event-loop delay histogram, read out at stop(). Its samples are the intervals
 * between runs of a LAG_RESOLUTION_MS timer, so an idle loop reads about 10 ms: the lag is the
 * sample minus the resolution (clamped at 0), which is what is returned, in ms.
 */
function startLagMonitor(): { stop: () => EventLoopLag } {
  const histogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  histogram.enable();
  return {
    stop() {
      histogram.disable();
      const lag = (ns: number) => Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS);
      return { p50Ms: lag(histogram.percentile(50)), p99Ms: lag(histogram.percentile(99)), maxMs: lag(histogram.max) };
    },
  };
}
