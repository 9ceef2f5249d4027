import { RandomStream } from '../../src/random/random-stream.js';
import type { Tokenizer } from '../../src/model/tokenizer/tokenizer.js';
import { syntheticTokenIds } from '../bench/synthetic-tokens.js';
import { generateContract } from './contract-text.js';

/** One benchmark request: the prompt as token ids (its exact length) and the tokens to generate. */
export interface BenchPrompt {
  promptTokenIds: number[];
  outputTokens: number;
}

export interface RandomDatasetOptions {
  count: number;
  inputTokens: number;
  outputTokens: number;
  /** First synthetic stream; prompt i uses stream seed + i, so prompts differ (no prefix sharing to exploit). */
  seed: number;
}

/**
 * vLLM's `random` dataset: prompts of exactly `inputTokens` ordinary token ids and outputs of
 * exactly `outputTokens` (with ignore_eos). Sent as token arrays, so no tokenizer round trip can
 * change a length.
 */
export function randomDataset(options: RandomDatasetOptions): BenchPrompt[] {
  return Array.from({ length: options.count }, (_, i) => ({
    promptTokenIds: syntheticTokenIds(options.inputTokens, options.seed + i),
    outputTokens: options.outputTokens,
  }));
}

export interface ContractDatasetOptions {
  count: number;
  /** Prompt lengths are drawn uniformly from [minTokens, maxTokens], chat template included. */
  minTokens: number;
  maxTokens: number;
  outputTokens: number;
  seed: number;
}

const INSTRUCTION = 'Summarise the following contract for a busy executive in three sentences: the parties and the services, the money (fees, payment terms, liability cap), and how and when it can end.';
/** Stands where the contract goes while the chat template is rendered; never occurs in a contract. */
const CONTRACT_SLOT = '\u0001CONTRACT\u0001';

/**
 * The bulk workload: long "summarise this contract" chats (generated contract text, see
 * contract-text.ts) with short outputs. Each prompt is the Qwen3 chat template around the
 * instruction and the contract, thinking off, cut to an exact token length: the template's text
 * before and after the contract is tokenized once, the contract's tokens fill the length between.
 */
export function contractDataset(tokenizer: Tokenizer, options: ContractDatasetOptions): BenchPrompt[] {
  const rendered = tokenizer.applyChatTemplate([{ role: 'user', content: `${INSTRUCTION}\n\n${CONTRACT_SLOT}` }], { enableThinking: false }).text;
  const [before, after] = rendered.split(CONTRACT_SLOT);
  const prefix = tokenizer.encode(before, { addSpecialTokens: false });
  const suffix = tokenizer.encode(after, { addSpecialTokens: false });
  const lengths = RandomStream.fromSeed(options.seed);
  return Array.from({ length: options.count }, (_, i) => {
    const total = options.minTokens + Math.floor(lengths.nextDouble() * (options.maxTokens - options.minTokens + 1));
    const bodyTokens = total - prefix.length - suffix.length;
    if (bodyTokens < 1) throw new Error(`a contract prompt of ${total} tokens leaves no room for the contract (template ${prefix.length + suffix.length} tokens)`);
    // English runs at about 4-5 characters per token; 6 leaves room so one pass is enough.
    const body = tokenizer.encode(generateContract(options.seed + i, bodyTokens * 6), { addSpecialTokens: false });
    if (body.length < bodyTokens) throw new Error(`generated contract too short: ${body.length} tokens of ${bodyTokens}`);
    return { promptTokenIds: [...prefix, ...body.slice(0, bodyTokens), ...suffix], outputTokens: options.outputTokens };
  });
}
