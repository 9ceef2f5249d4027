import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { EngineEvent, GenerationRequest } from '../../src/engine/generation.js';
import { DEFAULT_SAMPLING_PARAMS } from '../../src/engine/sampling/sampling-params.js';
import type { StepReport } from '../../src/engine/step-report.js';
import { EngineClient } from '../../src/engine/worker/engine-client.js';
import type { EngineInfo } from '../../src/engine/worker/protocol.js';
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
  promptTokens: number;
  /** Tokens every request generates (ignore_eos, so exactly this many). */
  maxTokens: number;
  /** Tokens of the warm-up request run before the first phase. */
  warmupTokens: number;
  /** How many of the largest phase's requests the baseline runs one after another; 0 skips it. */
  baselineRequests: number;
  log?: (line: string) => void;
}

/** Event-loop delay of the main thread over a phase, ms. */
export interface EventLoopLag {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface EnginePhase {
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
  loadAverage: { start: number[]; end: number[] };
}

export interface EngineBenchResult {
  kind: 'engine';
  machine: MachineInfo;
  options: Omit<EngineBenchOptions, 'log'>;
  engine: EngineInfo;
  phases: EnginePhase[];
  /** Aggregate full-batch decode tok/s of each phase over the single-stream phase's. */
  scaling: { concurrency: number; speedup: number }[];
  baseline: (BaselineResult & { requests: number; eventLoopLag: EventLoopLag; loadAverage: { start: number[]; end: number[] } }) | null;
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
  const client = await EngineClient.start({
    modelDir: options.modelDir,
    device: 'cpu',
    threads: options.threads,
    maxSeqs,
    maxModelLen: options.promptTokens + Math.max(options.maxTokens, options.warmupTokens),
  });
  // EngineClient's step listeners cannot be removed, so one listener feeds whichever phase runs.
  const steps: { sink: StepReport[] | null } = { sink: null };
  client.onStep((report) => steps.sink?.push(report));
  const phases: EnginePhase[] = [];
  try {
    log(`engine loaded in ${client.info.loadSeconds.toFixed(1)} s; warm-up request of ${options.warmupTokens} tokens`);
    await runPhase(client, steps, 'warmup', [benchRequest('warmup', syntheticTokenIds(options.promptTokens, 99), options.warmupTokens)]);
    for (const concurrency of options.concurrency) {
      const requests = phaseRequests(concurrency, options);
      const phase = await runPhase(client, steps, `c${concurrency}`, requests);
      phases.push(phase);
      log(`${concurrency} stream(s): ${phase.fullBatch.decodeTokPerSec.toFixed(2)} tok/s decode, ${phase.endToEndTokPerSec.toFixed(2)} tok/s end to end, lag p99 ${phase.eventLoopLag.p99Ms.toFixed(1)} ms`);
    }
  } finally {
    await client.close();
  }

  const single = phases.find((p) => p.concurrency === 1) ?? phases[0];
  const scaling = phases.map((p) => ({ concurrency: p.concurrency, speedup: p.fullBatch.decodeTokPerSec / single.fullBatch.decodeTokPerSec }));

  let baseline: EngineBenchResult['baseline'] = null;
  if (options.baselineRequests > 0) {
    const requests = phaseRequests(maxSeqs, options).slice(0, options.baselineRequests);
    log(`baseline: @huggingface/transformers generate(), ${requests.length} requests one after another`);
    const lag = startLagMonitor();
    const start = loadavg();
    const result = await runTransformersBaseline(
      options.modelDir,
      requests.map((r) => ({ promptTokenIds: r.promptTokenIds, newTokens: r.maxTokens })),
      options.threads,
    );
    baseline = { ...result, requests: requests.length, eventLoopLag: lag.stop(), loadAverage: { start, end: loadavg() } };
    log(`baseline: ${result.decodeTokPerSec.toFixed(2)} tok/s decode, ${result.endToEndTokPerSec.toFixed(2)} tok/s end to end`);
  }
  const { log: _log, ...recorded } = options;
  return { kind: 'engine', machine, options: recorded, engine: client.info, phases, scaling, baseline };
}

/** The requests of one phase: distinct prompts (stream 100 + i), the same length and count. */
function phaseRequests(concurrency: number, options: EngineBenchOptions): GenerationRequest[] {
  return Array.from({ length: concurrency }, (_, i) => benchRequest(`c${concurrency}-r${i}`, syntheticTokenIds(options.promptTokens, 100 + i), options.maxTokens));
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
async function runPhase(client: EngineClient, steps: { sink: StepReport[] | null }, name: string, requests: GenerationRequest[]): Promise<EnginePhase> {
  const reports: StepReport[] = [];
  steps.sink = reports;
  const lag = startLagMonitor();
  const start = loadavg();
  const started = performance.now();
  try {
    const tokens = await Promise.all(requests.map((request) => consume(client.submit(request), request)));
    const wallSeconds = (performance.now() - started) / 1000;
    const completionTokens = tokens.reduce((a, b) => a + b, 0);
    const concurrency = requests.length;
    return {
      concurrency,
      requests: requests.length,
      completionTokens,
      wallSeconds,
      endToEndTokPerSec: completionTokens / wallSeconds,
      fullBatch: summarizeSteps(reports.filter((r) => r.decodeBatchSize === concurrency && r.prefillChunks === 0)),
      allSteps: summarizeSteps(reports),
      eventLoopLag: lag.stop(),
      loadAverage: { start, end: loadavg() },
    };
  } catch (err) {
    throw new Error(`phase ${name} failed: ${(err as Error).message}`);
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

/** perf_hooks' event-loop delay histogram (10 ms sampling timer), read out in ms at stop(). */
function startLagMonitor(): { stop: () => EventLoopLag } {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  return {
    stop() {
      histogram.disable();
      const ms = (ns: number) => ns / 1e6;
      return { p50Ms: ms(histogram.percentile(50)), p99Ms: ms(histogram.percentile(99)), maxMs: ms(histogram.max) };
    },
  };
}
