import { loadavg } from 'node:os';
import { type ModelManifest, readModelManifest } from '../../src/model/model-manifest.js';
import { OnnxRunner } from '../../src/model/runner/onnx-runner.js';
import type { SpinPolicy } from '../../src/model/runner/open-session.js';
import {
  decodeFeed,
  decodePrompt,
  longDecodePrompt,
  prefillPrompt,
  prefillResult,
  sequenceFeed,
  sequencePrompt,
  timeDecode,
  timeSequences,
  timeTokens,
  type DecodeResult,
  type ModelWorkloadParams,
  type PrefillResult,
  type SequencesResult,
  type TimedRun,
} from './model-workloads.js';
import { peakRssBytes } from './peak-rss.js';
import { answerParentProcess } from './fork-module.js';

/**
 * One model's measurements, in a process of its own (started by model-bench.ts) so that its load
 * time is cold, its peak RSS is its own and no other session shares its caches. Everything runs
 * through OnnxRunner, the server's own forward path.
 *
 * Its argument (ModelProbeParams) comes through runInChildProcess; the result goes back over the IPC channel.
 */
export interface ModelProbeParams extends ModelWorkloadParams {
  modelDir: string;
  /** onnxruntime intra-op threads; undefined: its default (one per core). */
  threads?: number;
  /** How onnxruntime's threads wait between operators; undefined: the runner's default (the server's). */
  spinning?: SpinPolicy;
  /** Chunk length of the chunked-prefill measurement (the engine's default 64). */
  chunkTokens: number;
}

export interface ModelProbeResult {
  loadSeconds: number;
  /** Resident memory right after the session is created, and the process's peak over the run. */
  rssAfterLoadBytes: number;
  peakRssBytes: number;
  /** Single-stream decode after the short prompt. */
  decode: DecodeResult;
  /** Single-stream decode after the long prompt: what a long context costs every step. */
  longDecode: DecodeResult;
  /** One forward of prefillTokens tokens onto an empty row, each run timed. */
  prefill: PrefillResult;
  /** The same prompt as chunkTokens-token forwards onto the growing row, as the engine runs it. */
  chunkedPrefill: PrefillResult & { chunkTokens: number };
  /**
   * The sequences in KV rows of their own: each prompt prefilled in one forward as it comes, then
   * every row decoded together one step at a time (the engine's order with all requests at once).
   */
  sequences: SequencesResult;
  loadAverage: { start: number[]; end: number[] };
}

export async function probeModel(params: ModelProbeParams): Promise<ModelProbeResult> {
  const loadStart = loadavg();
  const manifest = readModelManifest(params.modelDir);
  const steps = params.warmupSteps + params.decodeSteps;
  const maxLen = Math.max(params.prefillTokens, params.decodePromptTokens + steps, params.longDecodePromptTokens + steps);
  const started = performance.now();
  // One KV row for the single-stream measurements, as before the sequence workload existed; the
  // sequence workload opens its own runner below so neither pays for the other's KV layout.
  const runner = await OnnxRunner.open({ onnxPath: manifest.onnxPath, prefillOnnxPath: manifest.prefillOnnxPath, device: 'cpu', threads: params.threads, spinning: params.spinning, maxSeqs: 1, maxLen });
  const loadSeconds = (performance.now() - started) / 1000;
  const rssAfterLoadBytes = process.memoryUsage.rss();
  let decode: DecodeResult;
  let longDecode: DecodeResult;
  const prefillRuns: TimedRun[] = [];
  const chunkedRuns: TimedRun[] = [];
  try {
    const vocab = runner.info.vocabSize;
    decode = await measureDecode(runner, decodePrompt(params, vocab), params);
    const prompt = prefillPrompt(params, vocab);
    for (let run = 0; run < params.prefillRuns; run++) {
      prefillRuns.push(await timeTokens(params.prefillTokens, () => runner.forward({ firstRow: 0, tokens: [prompt], pastLengths: [0] })));
      chunkedRuns.push(await timeTokens(params.prefillTokens, () => prefillInChunks(runner, prompt, params.chunkTokens)));
    }
    longDecode = await measureDecode(runner, longDecodePrompt(params, vocab), params);
  } finally {
    await runner.close();
  }
  const sequences = await measureSequences(manifest, params);
  return {
    loadSeconds,
    rssAfterLoadBytes,
    peakRssBytes: peakRssBytes(),
    decode,
    longDecode,
    prefill: prefillResult(params.prefillTokens, prefillRuns),
    chunkedPrefill: { ...prefillResult(params.prefillTokens, chunkedRuns), chunkTokens: params.chunkTokens },
    sequences,
    loadAverage: { start: loadStart, end: loadavg() },
  };
}

/** Single-stream decode: prefill `prompt` onto a fresh row, then one fed token per forward. */
async function measureDecode(runner: OnnxRunner, prompt: number[], params: ModelProbeParams): Promise<DecodeResult> {
  runner.releaseRow(0);
  await runner.forward({ firstRow: 0, tokens: [prompt], pastLengths: [0] });
  let past = prompt.length;
  return timeDecode(decodeFeed(params, runner.info.vocabSize), params.warmupSteps, prompt.length, async (token) => {
    await runner.forward({ firstRow: 0, tokens: [[token]], pastLengths: [past] });
    past++;
  });
}

async function measureSequences(manifest: ModelManifest, params: ModelProbeParams): Promise<SequencesResult> {
  const workload = params.sequences;
  const runner = await OnnxRunner.open({ onnxPath: manifest.onnxPath, prefillOnnxPath: manifest.prefillOnnxPath, device: 'cpu', threads: params.threads, spinning: params.spinning, maxSeqs: workload.count, maxLen: workload.promptTokens + workload.outputTokens });
  try {
    const vocab = runner.info.vocabSize;
    const prompts = Array.from({ length: workload.count }, (_, i) => sequencePrompt(workload, i, vocab));
    const feeds = Array.from({ length: workload.count }, (_, i) => sequenceFeed(workload, i, vocab));
    return await timeSequences(workload, async (onFirstToken) => {
      for (let row = 0; row < workload.count; row++) {
        await runner.forward({ firstRow: row, tokens: [prompts[row]], pastLengths: [0] });
        onFirstToken();
      }
      for (let step = 0; step < workload.outputTokens - 1; step++) {
        await runner.forward({ firstRow: 0, tokens: feeds.map((feed) => [feed[step]]), pastLengths: prompts.map((p) => p.length + step) });
      }
    });
  } finally {
    await runner.close();
  }
}

async function prefillInChunks(runner: OnnxRunner, prompt: number[], chunk: number): Promise<void> {
  for (let start = 0; start < prompt.length; start += chunk) {
    await runner.forward({ firstRow: 0, tokens: [prompt.slice(start, start + chunk)], pastLengths: [start] });
  }
}

// Entry point when started by model-bench.ts (a fork, so there is an IPC channel).
answerParentProcess(import.meta.url, probeModel);
