import { getLlama, LlamaLogLevel, type LlamaContextSequence } from 'node-llama-cpp';
import { describeLlamaCppBuild, type LlamaCppBuild } from './llama-cpp-build.js';
import { evaluateWithLastLogits } from './llama-cpp-baseline.js';
import { answerParentProcess } from './fork-module.js';

/**
 * The multi-turn chat's llama.cpp side (see loadtest/multi-turn.ts): each turn's prompt, as token
 * ids, sent to one llama.cpp sequence that keeps its KV cache between turns, as llama.cpp's server
 * does with `cache_prompt`: the tokens the new prompt shares with what the sequence holds stay,
 * the rest (the end of the last answer, which the client's history re-tokenizes, and the new
 * document) is erased and evaluated. The first answer token is timed from the prompt's hand-over;
 * the rest of the answer is decoded greedily, as the server would. GPU off, no build or download,
 * flash attention on, 512-token batches, in a process of its own.
 *
 * Its argument (LlamaCppMultiTurnParams) comes through runInChildProcess; the result goes back over the IPC channel.
 */
export interface LlamaCppMultiTurnParams {
  ggufPath: string;
  threads: number;
  /** Each turn's whole prompt (the history so far and the new message, chat template applied). */
  prompts: number[][];
  answerTokens: number;
}

export interface LlamaCppTurn {
  turn: number;
  promptTokens: number;
  /** Prompt tokens the sequence already held from earlier turns. */
  reusedTokens: number;
  ttftMs: number;
  totalMs: number;
}

export interface LlamaCppMultiTurnResult {
  build: LlamaCppBuild;
  threads: number;
  turns: LlamaCppTurn[];
}

const BATCH_SIZE = 512;

export async function runLlamaCppMultiTurn(params: LlamaCppMultiTurnParams): Promise<LlamaCppMultiTurnResult> {
  const llama = await getLlama({ gpu: false, build: 'never', maxThreads: params.threads, logLevel: LlamaLogLevel.error });
  try {
    const model = await llama.loadModel({ modelPath: params.ggufPath });
    try {
      const longest = Math.max(...params.prompts.map((prompt) => prompt.length));
      const context = await model.createContext({ contextSize: longest + params.answerTokens, sequences: 1, batchSize: BATCH_SIZE, threads: params.threads, flashAttention: true });
      try {
        const sequence = context.getSequence();
        // A fresh context's first evaluations allocate and are slow: one short one first, as ours.
        await evaluateWithLastLogits(sequence, params.prompts[0].slice(0, 8));
        await sequence.clearHistory();
        const turns: LlamaCppTurn[] = [];
        for (const [index, prompt] of params.prompts.entries()) {
          const started = performance.now();
          const reused = await keepSharedPrefix(sequence, prompt);
          let token = await evaluateWithLastLogits(sequence, prompt.slice(reused));
          const ttftMs = performance.now() - started;
          for (let generated = 1; generated < params.answerTokens; generated++) token = await evaluateWithLastLogits(sequence, [token]);
          turns.push({ turn: index + 1, promptTokens: prompt.length, reusedTokens: reused, ttftMs, totalMs: performance.now() - started });
        }
        return { build: describeLlamaCppBuild(llama), threads: params.threads, turns };
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

/**
 * Erases what the sequence holds past its longest common prefix with `prompt` and returns that
 * prefix's length, at most prompt.length - 1: the last prompt token is always evaluated, since
 * its logits give the first answer token.
 */
async function keepSharedPrefix(sequence: LlamaContextSequence, prompt: number[]): Promise<number> {
  const held = sequence.contextTokens;
  let shared = 0;
  while (shared < held.length && shared < prompt.length - 1 && held[shared] === prompt[shared]) shared++;
  if (shared < sequence.nextTokenIndex) await sequence.eraseContextTokenRanges([{ start: shared, end: sequence.nextTokenIndex }]);
  return shared;
}

// Entry point when started by multi-turn.ts (a fork, so there is an IPC channel).
answerParentProcess(import.meta.url, runLlamaCppMultiTurn);
