import { loadavg } from 'node:os';
import { readModelManifest } from '../../src/model/model-manifest.js';
import { OnnxRunner } from '../../src/model/runner/onnx-runner.js';
import { startCpuMeter } from './cpu-share.js';
import { syntheticTokenIds } from './synthetic-tokens.js';

/**
 * One model's measurements, in a process of its own (started by model-bench.ts) so that its load
 * time is cold, its peak RSS is its own and no other session shares its caches. Everything runs
 * through OnnxRunner, the server's own forward path, with one KV row.
 *
 * argv[2]: ModelProbeParams as JSON; the result goes back over the IPC channel.
 */
export interface ModelProbeParams {
  modelDir: string;
  /** onnxruntime intra-op threads; undefined: its default (one per core). */
  threads?: number;
  /** Prompt prefilled before the decode measurement. */
  decodePromptTokens: number;
  /** Decode steps run first and not counted (JIT, allocator arenas, page faults). */
  warmupSteps: number;
  decodeSteps: number;
  /** Prompt length of the prefill measurement (512 in the spec). */
  prefillTokens: number;
  /** Chunk length of the chunked-prefill measurement (the engine's default 64). */
  chunkTokens: number;
  /** Timed repetitions of each prefill form; the best is reported. */
  prefillRuns: number;
}

export interface ModelProbeResult {
  loadSeconds: number;
  /** Resident memory right after the session is created, and the process's peak over the run. */
  rssAfterLoadBytes: number;
  peakRssBytes: number;
  /** tokPerSec is steps over their summed time; cpuShare (see cpu-share.ts) tells how undisturbed they were. */
  decode: { steps: number; tokPerSec: number; medianStepMs: number; minStepMs: number; maxStepMs: number; cpuShare: number };
  /** One forward of prefillTokens tokens onto an empty row, each run timed. */
  prefill: { tokens: number; runs: TimedRun[]; bestTokPerSec: number };
  /** The same prompt as chunkTokens-token forwards onto the growing row, as the engine runs it. */
  chunkedPrefill: { tokens: number; chunkTokens: number; runs: TimedRun[]; bestTokPerSec: number };
  loadAverage: { start: number[]; end: number[] };
}

export interface TimedRun {
  tokPerSec: number;
  cpuShare: number;
}

export async function probeModel(params: ModelProbeParams): Promise<ModelProbeResult> {
  const loadStart = loadavg();
  const manifest = readModelManifest(params.modelDir);
  const maxLen = Math.max(params.prefillTokens, params.decodePromptTokens + params.warmupSteps + params.decodeSteps);
  const started = performance.now();
  const runner = await OnnxRunner.open({ onnxPath: manifest.onnxPath, device: 'cpu', threads: params.threads, maxSeqs: 1, maxLen });
  const loadSeconds = (performance.now() - started) / 1000;
  const rssAfterLoadBytes = process.memoryUsage.rss();
  try {
    const decode = await measureDecode(runner, params);
    const prompt = syntheticTokenIds(params.prefillTokens, 2, runner.info.vocabSize);
    const prefillRuns: TimedRun[] = [];
    const chunkedRuns: TimedRun[] = [];
    for (let run = 0; run < params.prefillRuns; run++) {
      prefillRuns.push(await timeTokens(params.prefillTokens, () => runner.forward({ firstRow: 0, tokens: [prompt], pastLengths: [0] })));
      chunkedRuns.push(await timeTokens(params.prefillTokens, () => prefillInChunks(runner, prompt, params.chunkTokens)));
    }
    return {
      loadSeconds,
      rssAfterLoadBytes,
      // maxRSS is in kilobytes (getrusage's ru_maxrss on Linux).
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      decode,
      prefill: { tokens: params.prefillTokens, runs: prefillRuns, bestTokPerSec: best(prefillRuns) },
      chunkedPrefill: { tokens: params.prefillTokens, chunkTokens: params.chunkTokens, runs: chunkedRuns, bestTokPerSec: best(chunkedRuns) },
      loadAverage: { start: loadStart, end: loadavg() },
    };
  } finally {
    await runner.close();
  }
}

/**
 * Single-stream decode: prefill a short prompt, then one token per forward, each step timed on
 * its own. The fed tokens are fixed ids rather than sampled ones: the forward pass costs the same
 * for any id, and sampling is not the model's time.
 */
async function measureDecode(runner: OnnxRunner, params: ModelProbeParams): Promise<ModelProbeResult['decode']> {
  const prompt = syntheticTokenIds(params.decodePromptTokens, 1, runner.info.vocabSize);
  await runner.forward({ firstRow: 0, tokens: [prompt], pastLengths: [0] });
  const next = syntheticTokenIds(params.warmupSteps + params.decodeSteps, 3, runner.info.vocabSize);
  let past = prompt.length;
  const stepMs: number[] = [];
  let cpu: { stop: () => number } | undefined;
  for (let i = 0; i < next.length; i++) {
    if (i === params.warmupSteps) cpu = startCpuMeter();
    const started = performance.now();
    await runner.forward({ firstRow: 0, tokens: [[next[i]]], pastLengths: [past] });
    if (i >= params.warmupSteps) stepMs.push(performance.now() - started);
    past++;
  }
  const cpuShare = cpu?.stop() ?? 0;
  const total = stepMs.reduce((a, b) => a + b, 0);
  const sorted = [...stepMs].sort((a, b) => a - b);
  return {
    steps: stepMs.length,
    tokPerSec: (stepMs.length * 1000) / total,
    medianStepMs: sorted[Math.floor(sorted.length / 2)],
    minStepMs: sorted[0],
    maxStepMs: sorted[sorted.length - 1],
    cpuShare,
  };
}

async function prefillInChunks(runner: OnnxRunner, prompt: number[], chunk: number): Promise<void> {
  for (let start = 0; start < prompt.length; start += chunk) {
    await runner.forward({ firstRow: 0, tokens: [prompt.slice(start, start + chunk)], pastLengths: [start] });
  }
}

/** Tokens per second of one call of `run`, and the share of the machine it had. */
async function timeTokens(tokens: number, run: () => Promise<unknown>): Promise<TimedRun> {
  const cpu = startCpuMeter();
  const started = performance.now();
  await run();
  const tokPerSec = (tokens * 1000) / (performance.now() - started);
  return { tokPerSec, cpuShare: cpu.stop() };
}

function best(runs: TimedRun[]): number {
  return Math.max(...runs.map((r) => r.tokPerSec));
}

// Entry point when started by model-bench.ts (a fork, so there is an IPC channel).
if (process.send && process.argv[2]) {
  const send = process.send.bind(process);
  probeModel(JSON.parse(process.argv[2]) as ModelProbeParams).then(
    (result) => send({ ok: true, result }, () => process.exit(0)),
    (err: unknown) => send({ ok: false, error: (err as Error)?.stack ?? String(err) }, () => process.exit(1)),
  );
}
