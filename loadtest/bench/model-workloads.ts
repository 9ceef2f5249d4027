import { startCpuMeter } from './cpu-share.js';
import { syntheticTokenIds } from './synthetic-tokens.js';

/**
 * The workloads the model benchmark runs on our runner and on llama.cpp alike. Both sides take
 * their token ids from the functions below, so they prefill the same prompts and feed the same
 * tokens; decode feeds fixed ids instead of sampled ones because a forward pass costs the same
 * for any id and sampling is not the model's time.
 */
export interface ModelWorkloadParams {
  /** Prompt prefilled before the short-context decode measurement (16 in the issue). */
  decodePromptTokens: number;
  /** Prompt prefilled before the long-context decode measurement (2048 in the issue). */
  longDecodePromptTokens: number;
  /** Decode steps run first and not counted (JIT, allocator arenas, page faults). */
  warmupSteps: number;
  decodeSteps: number;
  /** Prompt length of the prefill measurement (512 in the spec). */
  prefillTokens: number;
  /** Timed repetitions of each prefill form; the best is reported. */
  prefillRuns: number;
  /** Several sequences decoding together (llama.cpp's 8 x (113 + 64) in the issue). */
  sequences: SequenceWorkload;
}

export interface SequenceWorkload {
  count: number;
  promptTokens: number;
  /** Tokens each sequence generates: the first from its prefill, the rest from decode steps. */
  outputTokens: number;
}

export const decodePrompt = (p: ModelWorkloadParams, vocab: number) => syntheticTokenIds(p.decodePromptTokens, 1, vocab);
export const longDecodePrompt = (p: ModelWorkloadParams, vocab: number) => syntheticTokenIds(p.longDecodePromptTokens, 4, vocab);
/** Tokens fed by the decode steps (warm-up first) after either decode prompt. */
export const decodeFeed = (p: ModelWorkloadParams, vocab: number) => syntheticTokenIds(p.warmupSteps + p.decodeSteps, 3, vocab);
export const prefillPrompt = (p: ModelWorkloadParams, vocab: number) => syntheticTokenIds(p.prefillTokens, 2, vocab);
/** Sequence i's prompt: the engine benchmark's request prompts (streams 100, 101, ...). */
export const sequencePrompt = (w: SequenceWorkload, i: number, vocab: number) => syntheticTokenIds(w.promptTokens, 100 + i, vocab);
/** Tokens fed to sequence i's decode steps (outputTokens - 1 of them). */
export const sequenceFeed = (w: SequenceWorkload, i: number, vocab: number) => syntheticTokenIds(w.outputTokens - 1, 200 + i, vocab);

export interface DecodeResult {
  /** Tokens in context before the first timed step (the decode prompt plus warm-up steps). */
  contextTokens: number;
  steps: number;
  /** Steps over their summed time. */
  tokPerSec: number;
  medianStepMs: number;
  minStepMs: number;
  maxStepMs: number;
  /** See cpu-share.ts: how undisturbed the steps were. */
  cpuShare: number;
}

export interface TimedRun {
  tokPerSec: number;
  cpuShare: number;
}

export interface PrefillResult {
  tokens: number;
  runs: TimedRun[];
  bestTokPerSec: number;
}

export interface SequencesResult extends SequenceWorkload {
  /** From submitting every prompt to the last sequence's last token. */
  wallSeconds: number;
  /** count x outputTokens over wallSeconds. */
  tokPerSec: number;
  /** Per sequence, from the common start to its first token's logits. */
  meanTtftSeconds: number;
  cpuShare: number;
}

/**
 * Times decode steps one by one: `step(token)` runs one forward of one fed token. The first
 * `warmupSteps` tokens are run but not counted.
 */
export async function timeDecode(feed: number[], warmupSteps: number, promptTokens: number, step: (token: number) => Promise<unknown>): Promise<DecodeResult> {
  const stepMs: number[] = [];
  let cpu: { stop: () => number } | undefined;
  for (let i = 0; i < feed.length; i++) {
    if (i === warmupSteps) cpu = startCpuMeter();
    const started = performance.now();
    await step(feed[i]);
    if (i >= warmupSteps) stepMs.push(performance.now() - started);
  }
  const cpuShare = cpu?.stop() ?? 0;
  const total = stepMs.reduce((a, b) => a + b, 0);
  const sorted = [...stepMs].sort((a, b) => a - b);
  return {
    contextTokens: promptTokens + warmupSteps,
    steps: stepMs.length,
    tokPerSec: (stepMs.length * 1000) / total,
    medianStepMs: sorted[Math.floor(sorted.length / 2)],
    minStepMs: sorted[0],
    maxStepMs: sorted[sorted.length - 1],
    cpuShare,
  };
}

/** Tokens per second of one call of `run`, and the share of the machine it had. */
export async function timeTokens(tokens: number, run: () => Promise<unknown>): Promise<TimedRun> {
  const cpu = startCpuMeter();
  const started = performance.now();
  await run();
  const tokPerSec = (tokens * 1000) / (performance.now() - started);
  return { tokPerSec, cpuShare: cpu.stop() };
}

export function prefillResult(tokens: number, runs: TimedRun[]): PrefillResult {
  return { tokens, runs, bestTokPerSec: Math.max(...runs.map((r) => r.tokPerSec)) };
}

/**
 * Runs a sequence workload and times it: `run(onFirstToken)` does all of it and calls
 * `onFirstToken()` once per sequence when that sequence's first token is ready.
 */
export async function timeSequences(workload: SequenceWorkload, run: (onFirstToken: () => void) => Promise<void>): Promise<SequencesResult> {
  const cpu = startCpuMeter();
  const started = performance.now();
  const ttftMs: number[] = [];
  await run(() => ttftMs.push(performance.now() - started));
  const wallSeconds = (performance.now() - started) / 1000;
  if (ttftMs.length !== workload.count) throw new Error(`${ttftMs.length} first tokens reported for ${workload.count} sequences`);
  return {
    ...workload,
    wallSeconds,
    tokPerSec: (workload.count * workload.outputTokens) / wallSeconds,
    meanTtftSeconds: ttftMs.reduce((a, b) => a + b, 0) / ttftMs.length / 1000,
    cpuShare: cpu.stop(),
  };
}
