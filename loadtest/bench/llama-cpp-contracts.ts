import { loadavg } from 'node:os';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { startCpuMeter } from './cpu-share.js';
import { describeLlamaCppBuild, type LlamaCppBuild } from './llama-cpp-build.js';
import { evaluateWithLastLogits } from './llama-cpp-baseline.js';
import { answerParentProcess } from './fork-module.js';

/**
 * The contract workload's llama.cpp side (see loadtest/contracts/contract-bench.ts): the same
 * prompts (token ids) served by llama.cpp through node-llama-cpp with `slots` sequences in one
 * context, as llama.cpp's server runs its slots: every slot takes the next prompt as soon as its
 * last one has its summary, prefills it and decodes greedily; node-llama-cpp gathers what the
 * slots submit at the same time into shared llama_decode batches. GPU off, no build or download,
 * flash attention on, 512-token batches, fp16 KV cache, in a process of its own.
 *
 * Its argument (LlamaCppContractParams) comes through runInChildProcess; the result goes back over the IPC channel.
 */
export interface LlamaCppContractParams {
  ggufPath: string;
  threads: number;
  slots: number;
  prompts: number[][];
  outputTokens: number;
}

/** One request as the client saw it; times in seconds from the start of the workload. */
export interface ContractRequestTiming {
  promptTokens: number;
  outputTokens: number;
  startedAt: number;
  firstTokenAt: number;
  finishedAt: number;
}

export interface LlamaCppContractResult {
  build: LlamaCppBuild;
  threads: number;
  slots: number;
  flashAttention: boolean;
  batchSize: number;
  loadSeconds: number;
  wallSeconds: number;
  /** CPU time of this process over wall time times the cores (see cpu-share.ts). */
  cpuShare: number;
  requests: ContractRequestTiming[];
  loadAverage: { start: number[]; end: number[] };
}

const BATCH_SIZE = 512;

export async function runLlamaCppContracts(params: LlamaCppContractParams): Promise<LlamaCppContractResult> {
  const loadStart = loadavg();
  const llama = await getLlama({ gpu: false, build: 'never', maxThreads: params.threads, logLevel: LlamaLogLevel.error });
  try {
    const loadStarted = performance.now();
    const model = await llama.loadModel({ modelPath: params.ggufPath });
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    try {
      const longest = Math.max(...params.prompts.map((prompt) => prompt.length));
      // contextSize is per sequence in node-llama-cpp.
      const context = await model.createContext({ contextSize: longest + params.outputTokens, sequences: params.slots, batchSize: BATCH_SIZE, threads: params.threads, flashAttention: true });
      try {
        const sequences = Array.from({ length: params.slots }, () => context.getSequence());
        const requests: ContractRequestTiming[] = new Array(params.prompts.length);
        let next = 0;
        const meter = startCpuMeter();
        const started = performance.now();
        const at = () => (performance.now() - started) / 1000;
        await Promise.all(
          sequences.map(async (sequence) => {
            for (let index = next++; index < params.prompts.length; index = next++) {
              const prompt = params.prompts[index];
              await sequence.clearHistory();
              const startedAt = at();
              let token = await evaluateWithLastLogits(sequence, prompt);
              const firstTokenAt = at();
              // The first token comes from the prefill; each decode step feeds the last one back.
              for (let generated = 1; generated < params.outputTokens; generated++) token = await evaluateWithLastLogits(sequence, [token]);
              requests[index] = { promptTokens: prompt.length, outputTokens: params.outputTokens, startedAt, firstTokenAt, finishedAt: at() };
            }
          }),
        );
        const wallSeconds = at();
        return {
          build: describeLlamaCppBuild(llama),
          threads: params.threads,
          slots: params.slots,
          flashAttention: context.flashAttention === true,
          batchSize: BATCH_SIZE,
          loadSeconds,
          wallSeconds,
          cpuShare: meter.stop(),
          requests,
          loadAverage: { start: loadStart, end: loadavg() },
        };
      } finally {
        await context.dispose();
      }
    } finally {
      await model.dispose();
    }
  } finally {
    await llama.dispose();
  }
}

// Entry point when started by contract-bench.ts (a fork, so there is an IPC channel).
answerParentProcess(import.meta.url, runLlamaCppContracts);
