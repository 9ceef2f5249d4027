import { invalidParam } from '../../errors.js';

/**
 * A request's sampling parameters: OpenAI's, plus vLLM's extras (top_k, min_p,
 * repetition_penalty, min_tokens, ignore_eos, stop_token_ids). Ranges follow OpenAI where OpenAI
 * defines the parameter and vLLM otherwise, so a request valid there is valid here.
 */
export interface SamplingParams {
  /** 0 (below 1e-5, as in vLLM) means greedy: the most likely token, no randomness used. */
  temperature: number;
  /** Nucleus: sample among the most likely tokens holding this much probability. 1 = off. */
  topP: number;
  /** Sample among the k most likely tokens (ties at the k-th kept). 0 = off. */
  topK: number;
  /** Drop tokens less likely than minP times the most likely one. 0 = off. */
  minP: number;
  /** OpenAI: subtracted once from every token already generated (not prompt tokens). */
  presencePenalty: number;
  /** OpenAI: subtracted per occurrence of a token in the generated text. */
  frequencyPenalty: number;
  /** HF/vLLM: logits of prompt and generated tokens divided (if > 0) or multiplied (if < 0) by it. 1 = off. */
  repetitionPenalty: number;
  /** token id -> added to its logit, -100..100. */
  logitBias: ReadonlyMap<number, number>;
  /** Same seed, same logits -> same tokens. null: seeded from the operating system. */
  seed: number | null;
  /** End-of-sequence and stop token ids cannot be sampled before this many tokens. */
  minTokens: number;
  /** Keep generating past the end-of-sequence token (benchmarks); stop_token_ids still stop. */
  ignoreEos: boolean;
  /** Extra token ids that end the output, besides the model's end-of-sequence ids. */
  stopTokenIds: readonly number[];
  /** Report the chosen token's log-probability. */
  logprobs: boolean;
  /** How many most likely alternatives to report with it, 0..20. */
  topLogprobs: number;
}

/** The request fields, under their API names, as they arrive in JSON (unchecked). */
export interface SamplingFields {
  temperature?: unknown;
  top_p?: unknown;
  top_k?: unknown;
  min_p?: unknown;
  presence_penalty?: unknown;
  frequency_penalty?: unknown;
  repetition_penalty?: unknown;
  logit_bias?: unknown;
  seed?: unknown;
  min_tokens?: unknown;
  ignore_eos?: unknown;
  stop_token_ids?: unknown;
  logprobs?: unknown;
  top_logprobs?: unknown;
}

/** OpenAI's defaults: plain sampling of the model's distribution at temperature 1. */
export const DEFAULT_SAMPLING_PARAMS: Readonly<SamplingParams> = Object.freeze({
  temperature: 1,
  topP: 1,
  topK: 0,
  minP: 0,
  presencePenalty: 0,
  frequencyPenalty: 0,
  repetitionPenalty: 1,
  logitBias: new Map<number, number>(),
  seed: null,
  minTokens: 0,
  ignoreEos: false,
  stopTokenIds: [],
  logprobs: false,
  topLogprobs: 0,
});

/** OpenAI returns at most 20 alternatives per position. */
export const MAX_TOP_LOGPROBS = 20;

type Range = { min: number; max: number; minExclusive?: boolean };

function readNumber(fields: SamplingFields, name: keyof SamplingFields, fallback: number, range: Range): number {
  const value = fields[name];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidParam(name, `${name} must be a number`);
  const belowMin = range.minExclusive ? value <= range.min : value < range.min;
  if (belowMin || value > range.max) {
    const low = range.minExclusive ? `greater than ${range.min}` : `at least ${range.min}`;
    throw invalidParam(name, `${name} must be ${low} and at most ${range.max}, got ${value}`);
  }
  return value;
}

function readInteger(fields: SamplingFields, name: keyof SamplingFields, fallback: number, range: Range): number {
  const value = readNumber(fields, name, fallback, range);
  if (!Number.isInteger(value)) throw invalidParam(name, `${name} must be an integer, got ${value}`);
  return value;
}

function readBoolean(fields: SamplingFields, name: keyof SamplingFields, fallback: boolean): boolean {
  const value = fields[name];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw invalidParam(name, `${name} must be true or false`);
  return value;
}

function isTokenId(value: unknown, vocabSize: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < vocabSize;
}

/** OpenAI's `logit_bias` is a JSON object keyed by token ids written as strings. */
function readLogitBias(fields: SamplingFields, fallback: ReadonlyMap<number, number>, vocabSize: number) {
  const value = fields.logit_bias;
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalidParam('logit_bias', 'logit_bias must be an object mapping token ids to numbers');
  }
  const bias = new Map<number, number>();
  for (const [key, amount] of Object.entries(value)) {
    const id = /^\d+$/.test(key) ? Number(key) : Number.NaN;
    if (!isTokenId(id, vocabSize)) {
      throw invalidParam('logit_bias', `logit_bias key '${key}' is not a token id below ${vocabSize}`);
    }
    if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < -100 || amount > 100) {
      throw invalidParam('logit_bias', `logit_bias for token ${key} must be a number from -100 to 100`);
    }
    bias.set(id, amount);
  }
  return bias;
}

function readStopTokenIds(fields: SamplingFields, fallback: readonly number[], vocabSize: number) {
  const value = fields.stop_token_ids;
  if (value === undefined || value === null) return fallback;
  if (!Array.isArray(value) || !value.every((id) => isTokenId(id, vocabSize))) {
    throw invalidParam('stop_token_ids', `stop_token_ids must be an array of token ids below ${vocabSize}`);
  }
  return [...new Set(value as number[])];
}

/**
 * Checks a request's sampling fields and fills in defaults. `defaults` lets the server start from
 * the model's generation_config (Qwen3 suggests temperature 0.6, top_p 0.95, top_k 20) instead of
 * OpenAI's. A bad field throws a `ServeError` (400) whose `param` is the field's API name.
 */
export function parseSamplingParams(
  fields: SamplingFields,
  limits: { vocabSize: number },
  defaults: Partial<SamplingParams> = {},
): SamplingParams {
  const base: SamplingParams = { ...DEFAULT_SAMPLING_PARAMS, ...defaults };
  const topK = readInteger(fields, 'top_k', base.topK, { min: -1, max: Number.MAX_SAFE_INTEGER });
  const seed = fields.seed === undefined || fields.seed === null ? base.seed : fields.seed;
  if (seed !== null && (typeof seed !== 'number' || !Number.isSafeInteger(seed))) {
    throw invalidParam('seed', 'seed must be an integer');
  }
  const logprobs = readBoolean(fields, 'logprobs', base.logprobs);
  const topLogprobs = readInteger(fields, 'top_logprobs', base.topLogprobs, { min: 0, max: MAX_TOP_LOGPROBS });
  if (topLogprobs > 0 && !logprobs) {
    throw invalidParam('top_logprobs', 'top_logprobs needs logprobs set to true');
  }
  return {
    temperature: readNumber(fields, 'temperature', base.temperature, { min: 0, max: 2 }),
    topP: readNumber(fields, 'top_p', base.topP, { min: 0, max: 1, minExclusive: true }),
    // vLLM writes "off" as -1 or 0.
    topK: topK === -1 ? 0 : topK,
    minP: readNumber(fields, 'min_p', base.minP, { min: 0, max: 1 }),
    presencePenalty: readNumber(fields, 'presence_penalty', base.presencePenalty, { min: -2, max: 2 }),
    frequencyPenalty: readNumber(fields, 'frequency_penalty', base.frequencyPenalty, { min: -2, max: 2 }),
    repetitionPenalty: readNumber(fields, 'repetition_penalty', base.repetitionPenalty, {
      min: 0,
      max: 2,
      minExclusive: true,
    }),
    logitBias: readLogitBias(fields, base.logitBias, limits.vocabSize),
    seed: seed as number | null,
    minTokens: readInteger(fields, 'min_tokens', base.minTokens, { min: 0, max: Number.MAX_SAFE_INTEGER }),
    ignoreEos: readBoolean(fields, 'ignore_eos', base.ignoreEos),
    stopTokenIds: readStopTokenIds(fields, base.stopTokenIds, limits.vocabSize),
    logprobs,
    topLogprobs,
  };
}
