import { z } from 'zod';
import { DEFAULT_SAMPLING_PARAMS, type SamplingParams } from '../../engine/sampling/sampling-params.js';
import { invalidParam } from '../../errors.js';
import { SAMPLING_FIELDS, type SamplingFields } from '../schemas/sampling-fields.js';
import { parseValue } from '../validation/parse-value.js';

/** Non-strict: a whole request body may be passed, its other fields are not looked at here. */
const samplingFieldsSchema = z.object(SAMPLING_FIELDS);

function isTokenId(value: number, vocabSize: number): boolean {
  return Number.isInteger(value) && value >= 0 && value < vocabSize;
}

function readLogitBias(value: Record<string, number>, vocabSize: number): Map<number, number> {
  const bias = new Map<number, number>();
  for (const [key, amount] of Object.entries(value)) {
    const id = Number(key);
    if (!isTokenId(id, vocabSize)) {
      throw invalidParam('logit_bias', `logit_bias key '${key}' is not a token id below ${vocabSize}`);
    }
    bias.set(id, amount);
  }
  return bias;
}

function readStopTokenIds(value: number[], vocabSize: number): number[] {
  if (!value.every((id) => isTokenId(id, vocabSize))) {
    throw invalidParam('stop_token_ids', `stop_token_ids must be an array of token ids below ${vocabSize}`);
  }
  return [...new Set(value)];
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
  const f = parseValue(samplingFieldsSchema, fields);
  const base: SamplingParams = { ...DEFAULT_SAMPLING_PARAMS, ...defaults };
  const logprobs = f.logprobs ?? base.logprobs;
  const topLogprobs = f.top_logprobs ?? base.topLogprobs;
  if (topLogprobs > 0 && !logprobs) {
    throw invalidParam('top_logprobs', 'top_logprobs needs logprobs set to true');
  }
  const topK = f.top_k ?? base.topK;
  return {
    temperature: f.temperature ?? base.temperature,
    topP: f.top_p ?? base.topP,
    // vLLM writes "off" as -1 or 0.
    topK: topK === -1 ? 0 : topK,
    minP: f.min_p ?? base.minP,
    presencePenalty: f.presence_penalty ?? base.presencePenalty,
    frequencyPenalty: f.frequency_penalty ?? base.frequencyPenalty,
    repetitionPenalty: f.repetition_penalty ?? base.repetitionPenalty,
    logitBias: f.logit_bias ? readLogitBias(f.logit_bias, limits.vocabSize) : base.logitBias,
    seed: f.seed ?? base.seed,
    minTokens: f.min_tokens ?? base.minTokens,
    ignoreEos: f.ignore_eos ?? base.ignoreEos,
    stopTokenIds: f.stop_token_ids ? readStopTokenIds(f.stop_token_ids, limits.vocabSize) : base.stopTokenIds,
    logprobs,
    topLogprobs,
  };
}
