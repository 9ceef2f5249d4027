import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { loadTokenizer } from '../../src/model/tokenizer/load-tokenizer.js';
import { modelWeightBytes } from '../bench/bench-models.js';
import type { LlamaCppPeer } from '../bench/llama-cpp-baseline.js';
import { describeMachine, type MachineInfo } from '../bench/machine-info.js';
import { runTransformersBaseline, type BaselineResult } from '../bench/transformers-baseline.js';
import { serverRssBytes } from '../http/metrics-scrape.js';
import { contractDataset, randomDataset, type BenchPrompt } from './datasets.js';
import { runLoad, type LoadShape } from './load-shapes.js';
import { estimateSequentialServing, type SequentialEstimate } from './sequential-baseline.js';
import { startServerProcess, type ServerProcess, type ServerProcessOptions } from './server-process.js';
import { summarizeRequests, type RequestResult, type ServiceLevelObjectives, type ServingMetrics } from './serving-metrics.js';
import { StreamingClient } from './streaming-client.js';

/**
 * The CPU peer's workload from issue 7: llama.cpp's server (Q4_K_M, 2 threads, 8 slots) served 8
 * concurrent requests of 113 prompt tokens and 64 output tokens at 6.3 generated tok/s end to
 * end with a mean TTFT of 42 s; one request alone: 3.6 tok/s and 5.2 s.
 */
export const PEER_WORKLOAD = {
  concurrency: 8,
  inputTokens: 113,
  outputTokens: 64,
  llamaCpp: { quantization: 'Q4_K_M', outputThroughput: 6.3, meanTtftSeconds: 42, single: { outputThroughput: 3.6, ttftSeconds: 5.2 } },
  goals: { throughputRatio: 1.5, ttftRatio: 0.5 },
} as const;

/** A prefill chunk size and step token budget to try on the peer workload (budget default: maxSeqs + chunk). */
export interface PrefillSetting {
  chunk: number;
  budget?: number;
}

export interface ServeBenchModel {
  label: string;
  dir: string;
  peer?: LlamaCppPeer;
  /** Also run the Poisson, contract and prefill-setting scenarios (they cost minutes each on the 4B model). */
  extended: boolean;
}

export interface ServeBenchOptions {
  models: ServeBenchModel[];
  threads?: number;
  /** KV rows of the batching server. */
  maxSeqs: number;
  /** Queue beyond the running requests, for every server: large enough that no benchmark request is refused. */
  maxWaiting: number;
  /** The concurrency sweep on the random dataset; each level sends max(minRequests, concurrency) requests. */
  sweep: { concurrency: number[]; inputTokens: number; outputTokens: number; minRequests: number };
  /** Sweep levels also run on the same server with batching off (--max-seqs 1). */
  noBatchingConcurrency: number[];
  poisson: { rates: number[]; requests: number };
  contract: { requests: number; minTokens: number; maxTokens: number; outputTokens: number; concurrency: number };
  /** Extra servers run on the peer workload only, to find the prefill setting that serves it best. */
  prefillSettings: PrefillSetting[];
  /** Requests of the sweep's shape run through transformers.js one after another (0: skip). */
  transformersRequests: number;
  slo: ServiceLevelObjectives;
  log?: (line: string) => void;
  /** Called after each model with the results so far, so a long run that is cut off keeps what it finished. */
  onModelDone?: (partial: ServeBenchResult) => void;
}

export interface ScenarioResult {
  /** e.g. 'random c=8', 'poisson 0.1/s', 'contract c=2'. */
  name: string;
  dataset: 'random' | 'contract';
  shape: LoadShape;
  inputTokens: { min: number; max: number };
  outputTokens: number;
  metrics: ServingMetrics;
  /** The server's resident memory right after the scenario (its /metrics). */
  serverRssBytes: number;
  loadAverage: { start: number[]; end: number[] };
  /** Every request as measured (the JSON keeps them; the report shows the summary). */
  requests: RequestResult[];
}

export interface ServerRun {
  name: string;
  args: string[];
  loadSeconds: number;
  scenarios: ScenarioResult[];
}

export interface ModelServeResult {
  label: string;
  dir: string;
  peer?: LlamaCppPeer;
  weightBytes: number;
  batching: ServerRun;
  noBatching: ServerRun | null;
  prefillSettings: { setting: PrefillSetting; run: ServerRun }[];
  transformers: { result: BaselineResult; estimates: SequentialEstimate[] } | null;
}

export interface LoadSample {
  atSeconds: number;
  load: number[];
}

export interface ServeBenchResult {
  kind: 'serve';
  machine: MachineInfo;
  options: Omit<ServeBenchOptions, 'log' | 'onModelDone'>;
  startedAt: string;
  /** `git describe --always --dirty` of the code measured (servers run from this tree), or null outside a checkout. */
  codeRevision: string | null;
  wallSeconds: number;
  models: ModelServeResult[];
  /** The machine's load average every few seconds over the run: how shared the machine was. */
  load: LoadSample[];
}

/** The warm-up request every fresh server gets first: its first forward passes allocate and are slow. */
const WARMUP: BenchPrompt = randomDataset({ count: 1, inputTokens: 16, outputTokens: 4, seed: 7 })[0];
const LOAD_SAMPLE_MS = 5000;

/**
 * The serving benchmark (issue 7), in one run per model: the server as shipped (continuous
 * batching) over a concurrency sweep, Poisson arrivals and long contract prompts; the same
 * server with batching off on the sweep levels chosen; servers with other prefill settings on
 * the peer workload; and transformers.js generate() request after request on the same files.
 * Every server is its own `qwen3-serve serve` process, measured from here through the OpenAI SDK.
 */
export async function runServeBench(options: ServeBenchOptions): Promise<ServeBenchResult> {
  const log = options.log ?? (() => {});
  const machine = describeMachine();
  const startedAt = new Date();
  const began = performance.now();
  const load: LoadSample[] = [];
  const sampler = setInterval(() => load.push({ atSeconds: (performance.now() - began) / 1000, load: loadavg() }), LOAD_SAMPLE_MS);
  sampler.unref();
  load.push({ atSeconds: 0, load: loadavg() });
  const models: ModelServeResult[] = [];
  const { log: _log, onModelDone, ...recorded } = options;
  const codeRevision = describeRevision();
  const snapshot = (): ServeBenchResult => ({ kind: 'serve', machine, options: recorded, startedAt: startedAt.toISOString(), codeRevision, wallSeconds: (performance.now() - began) / 1000, models, load });
  try {
    for (const model of options.models) {
      models.push(await benchModel(model, options, log));
      onModelDone?.(snapshot());
    }
  } finally {
    clearInterval(sampler);
  }
  load.push({ atSeconds: (performance.now() - began) / 1000, load: loadavg() });
  return snapshot();
}

function describeRevision(): string | null {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

async function benchModel(model: ServeBenchModel, options: ServeBenchOptions, log: (line: string) => void): Promise<ModelServeResult> {
  const { sweep } = options;
  const sweepPrompts = (concurrency: number) =>
    randomDataset({ count: Math.max(sweep.minRequests, concurrency), inputTokens: sweep.inputTokens, outputTokens: sweep.outputTokens, seed: 1000 * concurrency });
  const server = (name: string, extra: Partial<ServerProcessOptions>) =>
    withServer(name, { modelDir: model.dir, maxSeqs: options.maxSeqs, maxWaiting: options.maxWaiting, threads: options.threads, ...extra }, log);

  log(`${model.label}: the server as shipped (continuous batching, ${options.maxSeqs} rows)`);
  const batching = await server(`batching, max-seqs ${options.maxSeqs}`, {}).then((s) =>
    s.run(async (scenario) => {
      for (const concurrency of sweep.concurrency) await scenario(`random c=${concurrency}`, 'random', sweepPrompts(concurrency), { kind: 'concurrency', concurrency }, options.slo);
      if (!model.extended) return;
      for (const rate of options.poisson.requests > 0 ? options.poisson.rates : []) {
        const prompts = randomDataset({ count: options.poisson.requests, inputTokens: sweep.inputTokens, outputTokens: sweep.outputTokens, seed: 5000 });
        await scenario(`poisson ${rate}/s`, 'random', prompts, { kind: 'poisson', rate, seed: 11 }, options.slo);
      }
      if (options.contract.requests > 0) {
        const tokenizer = await loadTokenizer(model.dir);
        const prompts = contractDataset(tokenizer, { ...options.contract, count: options.contract.requests, seed: 21 });
        await scenario(`contract c=${options.contract.concurrency}`, 'contract', prompts, { kind: 'concurrency', concurrency: options.contract.concurrency }, options.slo);
      }
    }),
  );

  let noBatching: ServerRun | null = null;
  if (options.noBatchingConcurrency.length > 0) {
    log(`${model.label}: the same server with batching off (max-seqs 1)`);
    noBatching = await server('no batching, max-seqs 1', { maxSeqs: 1 }).then((s) =>
      s.run(async (scenario) => {
        for (const concurrency of options.noBatchingConcurrency) await scenario(`random c=${concurrency}`, 'random', sweepPrompts(concurrency), { kind: 'concurrency', concurrency }, options.slo);
      }),
    );
  }

  const prefillSettings: ModelServeResult['prefillSettings'] = [];
  if (model.extended) {
    for (const setting of options.prefillSettings) {
      const budget = setting.budget ?? options.maxSeqs + setting.chunk;
      log(`${model.label}: peer workload with prefill chunk ${setting.chunk}, step budget ${budget}`);
      const run = await server(`chunk ${setting.chunk}, budget ${budget}`, { maxPrefillChunk: setting.chunk, maxNumBatchedTokens: budget }).then((s) =>
        s.run((scenario) => scenario(`random c=${PEER_WORKLOAD.concurrency}`, 'random', sweepPrompts(PEER_WORKLOAD.concurrency), { kind: 'concurrency', concurrency: PEER_WORKLOAD.concurrency }, options.slo)),
      );
      prefillSettings.push({ setting: { chunk: setting.chunk, budget }, run });
    }
  }

  let transformers: ModelServeResult['transformers'] = null;
  if (options.transformersRequests > 0) {
    log(`${model.label}: @huggingface/transformers generate(), ${options.transformersRequests} requests one after another`);
    const prompts = randomDataset({ count: options.transformersRequests, inputTokens: sweep.inputTokens, outputTokens: sweep.outputTokens, seed: 1000 * PEER_WORKLOAD.concurrency });
    const result = await runTransformersBaseline(
      model.dir,
      prompts.map((p) => ({ promptTokenIds: p.promptTokenIds, newTokens: p.outputTokens })),
      options.threads,
    );
    const estimates = sweep.concurrency.map((c) => estimateSequentialServing(result, c, Math.max(sweep.minRequests, c)));
    transformers = { result, estimates };
    log(`transformers.js: ${result.endToEndTokPerSec.toFixed(2)} tok/s end to end, ${result.decodeTokPerSec.toFixed(2)} tok/s decode`);
  }

  return { label: model.label, dir: model.dir, peer: model.peer, weightBytes: modelWeightBytes(model.dir), batching, noBatching, prefillSettings, transformers };
}

type RunScenario = (name: string, dataset: ScenarioResult['dataset'], prompts: BenchPrompt[], shape: LoadShape, slo: ServiceLevelObjectives) => Promise<void>;

/** Starts a server process, warms it up, and runs scenarios against it; always stops it. */
async function withServer(name: string, serverOptions: ServerProcessOptions, log: (line: string) => void) {
  const started = performance.now();
  const serverProcess = await startServerProcess(serverOptions);
  const loadSeconds = (performance.now() - started) / 1000;
  return {
    async run(body: (scenario: RunScenario) => Promise<void>): Promise<ServerRun> {
      const scenarios: ScenarioResult[] = [];
      try {
        const client = await StreamingClient.connect(serverProcess.url);
        const warmup = await client.send(WARMUP);
        if (!warmup.ok) throw new Error(`warm-up request failed: ${warmup.error}`);
        await body(async (scenarioName, dataset, prompts, shape, slo) => {
          scenarios.push(await runScenario(client, serverProcess, scenarioName, dataset, prompts, shape, slo));
          log(describeScenario(scenarios[scenarios.length - 1]));
        });
      } finally {
        await serverProcess.stop();
      }
      return { name, args: serverProcess.args, loadSeconds, scenarios };
    },
  };
}

async function runScenario(
  client: StreamingClient,
  server: ServerProcess,
  name: string,
  dataset: ScenarioResult['dataset'],
  prompts: BenchPrompt[],
  shape: LoadShape,
  slo: ServiceLevelObjectives,
): Promise<ScenarioResult> {
  const start = loadavg();
  const run = await runLoad(prompts, shape, (prompt) => client.send(prompt));
  const lengths = prompts.map((p) => p.promptTokenIds.length);
  return {
    name,
    dataset,
    shape,
    inputTokens: { min: Math.min(...lengths), max: Math.max(...lengths) },
    outputTokens: prompts[0].outputTokens,
    metrics: summarizeRequests(run.results, run.durationMs, slo),
    serverRssBytes: await serverRssBytes(server.url),
    loadAverage: { start, end: loadavg() },
    requests: run.results,
  };
}

function describeScenario(s: ScenarioResult): string {
  const m = s.metrics;
  return (
    `  ${s.name}: ${m.completed} ok, ${m.failed} failed; ${m.outputThroughput.toFixed(2)} out tok/s, ` +
    `TTFT mean ${(m.ttftMs.mean / 1000).toFixed(1)} s, ITL median ${m.itlMs.median.toFixed(0)} ms, ${m.durationSeconds.toFixed(0)} s; load ${s.loadAverage.end[0].toFixed(2)}`
  );
}
