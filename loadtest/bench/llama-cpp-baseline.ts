import { loadavg } from 'node:os';
import { getLlama, LlamaLogLevel, type ControlledEvaluateInputItem, type LlamaContextSequence, type LlamaModel, type Token } from 'node-llama-cpp';
import { describeLlamaCppBuild, type LlamaCppBuild } from './llama-cpp-build.js';
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
 * The llama.cpp baseline: the same workloads as our model benchmark (model-workloads.ts), run by
 * llama.cpp through node-llama-cpp's prebuilt CPU binaries on a GGUF of the same shape and
 * seeded weights, in a process of its own (started by model-bench.ts) on the same machine in the
 * same run. Settings: GPU off, no build or download (`build: 'never'`), the given threads for
 * both prompt batches and decode, flash attention on (node-llama-cpp falls back where the model
 * or build cannot), its default 512-token batches and fp16 KV cache.
 *
 * Its argument (LlamaCppProbeParams) comes through runInChildProcess; the result goes back over the IPC channel.
 */
/** The llama.cpp counterpart of one of our models: a GGUF of the same shape and weights. */
export interface LlamaCppPeer {
  gguf: string;
  /** Its matrix type as llama.cpp names it, e.g. Q4_0. */
  type: string;
}

export interface LlamaCppProbeParams extends ModelWorkloadParams {
  ggufPath: string;
  threads: number;
}

export interface LlamaCppProbeResult {
  build: LlamaCppBuild;
  threads: number;
  /** Whether the contexts really ran with flash attention. */
  flashAttention: boolean;
  batchSize: number;
  loadSeconds: number;
  rssAfterLoadBytes: number;
  peakRssBytes: number;
  decode: DecodeResult;
  longDecode: DecodeResult;
  /** The prompt in one evaluation (split into batchSize batches by llama.cpp), logits of the last token only. */
  prefill: PrefillResult;
  /** Every sequence in one context, submitted together: node-llama-cpp batches them into shared decode calls. */
  sequences: SequencesResult;
  loadAverage: { start: number[]; end: number[] };
}

/** Tokens per llama_decode call: node-llama-cpp's default, set explicitly so the report can state it. */
const BATCH_SIZE = 512;

export async function probeLlamaCpp(params: LlamaCppProbeParams): Promise<LlamaCppProbeResult> {
  const loadStart = loadavg();
  const llama = await getLlama({ gpu: false, build: 'never', maxThreads: params.threads, logLevel: LlamaLogLevel.error });
  try {
    const build = describeLlamaCppBuild(llama);
    const started = performance.now();
    const model = await llama.loadModel({ modelPath: params.ggufPath });
    const loadSeconds = (performance.now() - started) / 1000;
    const rssAfterLoadBytes = process.memoryUsage.rss();
    try {
      return { build, threads: params.threads, batchSize: BATCH_SIZE, loadSeconds, rssAfterLoadBytes, ...(await measure(model, params)), loadAverage: { start: loadStart, end: loadavg() } };
    } finally {
      await model.dispose();
    }
  } finally {
    await llama.dispose();
  }
}

/** Rows of the token embedding: the vocabulary the synthetic ids are drawn below. */
function vocabularySize(model: LlamaModel): number {
  const embedding = model.fileInfo.tensorInfo?.find((tensor) => tensor.name === 'token_embd.weight');
  if (!embedding) throw new Error('the GGUF has no token_embd.weight');
  return Number(embedding.dimensions[1]);
}

async function measure(model: LlamaModel, params: LlamaCppProbeParams) {
  const vocab = vocabularySize(model);
  const steps = params.warmupSteps + params.decodeSteps;
  const contextSize = Math.max(params.prefillTokens, params.decodePromptTokens + steps, params.longDecodePromptTokens + steps);
  const context = await model.createContext({ contextSize, sequences: 1, batchSize: BATCH_SIZE, threads: params.threads, flashAttention: true });
  let single: { decode: DecodeResult; longDecode: DecodeResult; prefill: PrefillResult; flashAttention: boolean };
  try {
    const sequence = context.getSequence();
    const decode = await measureDecode(sequence, decodePrompt(params, vocab), params, vocab);
    const prompt = prefillPrompt(params, vocab);
    const runs: TimedRun[] = [];
    for (let run = 0; run < params.prefillRuns; run++) {
      await sequence.clearHistory();
      runs.push(await timeTokens(prompt.length, () => evaluateWithLastLogits(sequence, prompt)));
    }
    const longDecode = await measureDecode(sequence, longDecodePrompt(params, vocab), params, vocab);
    single = { decode, longDecode, prefill: prefillResult(prompt.length, runs), flashAttention: context.flashAttention === true };
  } finally {
    await context.dispose();
  }
  const sequences = await measureSequences(model, params, vocab);
  return { ...single, peakRssBytes: peakRssBytes(), sequences };
}

/**
 * Evaluates tokens and returns the next token after the last one: logits are computed for the
 * last position only (as a server's prefill does) and sampled (node-llama-cpp's default options:
 * greedy), which is cheap next to the forward pass.
 */
export async function evaluateWithLastLogits(sequence: LlamaContextSequence, tokens: number[]): Promise<number> {
  const input: ControlledEvaluateInputItem[] = tokens.map((token) => token as Token);
  input[input.length - 1] = [tokens[tokens.length - 1] as Token, { generateNext: { token: true } }];
  const output = await sequence.controlledEvaluate(input);
  const next = output[output.length - 1]?.next.token;
  if (next === undefined || next === null) throw new Error('llama.cpp returned no next token');
  return next;
}

async function measureDecode(sequence: LlamaContextSequence, prompt: number[], params: LlamaCppProbeParams, vocab: number): Promise<DecodeResult> {
  await sequence.clearHistory();
  await evaluateWithLastLogits(sequence, prompt);
  return timeDecode(decodeFeed(params, vocab), params.warmupSteps, prompt.length, (token) => evaluateWithLastLogits(sequence, [token]));
}

/**
 * All sequences in one context (contextSize is per sequence in node-llama-cpp), every prompt
 * submitted at once, then each decode step submitted for every sequence at once: node-llama-cpp
 * gathers what is pending into shared llama_decode batches, as llama.cpp's server does with its
 * slots.
 */
async function measureSequences(model: LlamaModel, params: LlamaCppProbeParams, vocab: number): Promise<SequencesResult> {
  const workload = params.sequences;
  const context = await model.createContext({
    contextSize: workload.promptTokens + workload.outputTokens,
    sequences: workload.count,
    batchSize: BATCH_SIZE,
    threads: params.threads,
    flashAttention: true,
  });
  try {
    const sequences = Array.from({ length: workload.count }, () => context.getSequence());
    const prompts = sequences.map((_, i) => sequencePrompt(workload, i, vocab));
    const feeds = sequences.map((_, i) => sequenceFeed(workload, i, vocab));
    return await timeSequences(workload, async (onFirstToken) => {
      await Promise.all(sequences.map((sequence, i) => evaluateWithLastLogits(sequence, prompts[i]).then(onFirstToken)));
      for (let step = 0; step < workload.outputTokens - 1; step++) {
        await Promise.all(sequences.map((sequence, i) => evaluateWithLastLogits(sequence, [feeds[i][step]])));
      }
    });
  } finally {
    await context.dispose();
  }
}

// Entry point when started by model-bench.ts (a fork, so there is an IPC channel).
answerParentProcess(import.meta.url, probeLlamaCpp);
