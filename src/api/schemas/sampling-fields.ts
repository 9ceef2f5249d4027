import { z } from 'zod';

/**
 * The sampling fields of the generation requests under their API names: OpenAI's, plus vLLM's
 * extras (top_k, min_p, repetition_penalty, min_tokens, ignore_eos, stop_token_ids). Ranges follow
 * OpenAI where OpenAI defines the parameter and vLLM otherwise, so a request valid there is valid
 * here. parseSamplingParams (../generation/parse-sampling-params.ts) maps them to the engine's
 * SamplingParams.
 */

/** OpenAI returns at most 20 alternatives per position. */
export const MAX_TOP_LOGPROBS = 20;

type Range = { min: number; max: number; minExclusive?: boolean };

/**
 * A number field with its range. The zod schema is the one definition of the range: the HTTP
 * API's request schemas (and so openapi.yaml) embed it, and parseSamplingParams checks with it.
 * Its errors (type expected and received, the bound broken) are worded by issueToError.
 */
function numberField(range: Range, options: { integer?: boolean } = {}) {
  const base = options.integer ? z.int() : z.number();
  const bounded = range.minExclusive ? base.gt(range.min) : base.gte(range.min);
  return range.max === Number.MAX_SAFE_INTEGER ? bounded : bounded.lte(range.max);
}

/** OpenAI's `logit_bias`: a JSON object keyed by token ids written as strings. */
const LOGIT_BIAS_MESSAGE = 'logit_bias must be an object mapping token ids (as strings) to numbers from -100 to 100';
const logitBiasField = z.record(z.string().regex(/^\d+$/, { error: LOGIT_BIAS_MESSAGE }), z.number().min(-100).max(100));

/**
 * The sampling fields under their API names, each nullable (null is absent, as OpenAI clients
 * send it). Token ids are checked against the vocabulary in parseSamplingParams, which knows it.
 */
export const SAMPLING_FIELDS = {
  temperature: numberField({ min: 0, max: 2 })
    .nullish()
    .meta({ description: 'Sampling temperature; 0 is greedy (always the most likely token).' }),
  top_p: numberField({ min: 0, max: 1, minExclusive: true })
    .nullish()
    .meta({ description: 'Nucleus sampling: keep the most likely tokens holding this much probability. 1 = off.' }),
  top_k: numberField({ min: -1, max: Number.MAX_SAFE_INTEGER }, { integer: true })
    .nullish()
    .meta({ description: 'vLLM extra: keep the k most likely tokens; 0 or -1 = off.' }),
  min_p: numberField({ min: 0, max: 1 })
    .nullish()
    .meta({ description: 'vLLM extra: drop tokens less likely than min_p times the most likely one. 0 = off.' }),
  presence_penalty: numberField({ min: -2, max: 2 })
    .nullish()
    .meta({ description: 'Subtracted once from the logit of every token already generated.' }),
  frequency_penalty: numberField({ min: -2, max: 2 })
    .nullish()
    .meta({ description: 'Subtracted from a token\'s logit per time it was generated.' }),
  repetition_penalty: numberField({ min: 0, max: 2, minExclusive: true })
    .nullish()
    .meta({ description: 'vLLM extra: logits of prompt and generated tokens divided (positive) or multiplied (negative) by it. 1 = off.' }),
  logit_bias: logitBiasField
    .nullish()
    .meta({ description: 'Token id (as a string) -> bias from -100 to 100 added to its logit.' }),
  seed: numberField({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }, { integer: true })
    .nullish()
    .meta({ description: 'Same seed and same request: same output.' }),
  min_tokens: numberField({ min: 0, max: Number.MAX_SAFE_INTEGER }, { integer: true })
    .nullish()
    .meta({ description: 'vLLM extra: end-of-sequence and stop token ids cannot end the output before this many tokens.' }),
  ignore_eos: z.boolean()
    .nullish()
    .meta({ description: 'vLLM extra: keep generating past the end-of-sequence token (benchmarks).' }),
  stop_token_ids: z
    .array(z.int().min(0))
    .nullish()
    .meta({ description: 'vLLM extra: token ids that end the output, besides the model\'s end-of-sequence ids.' }),
  logprobs: z.boolean()
    .nullish()
    .meta({ description: 'Return the log-probability of each output token.' }),
  top_logprobs: numberField({ min: 0, max: MAX_TOP_LOGPROBS }, { integer: true })
    .nullish()
    .meta({ description: `How many most likely alternatives to return per position (0..${MAX_TOP_LOGPROBS}); needs logprobs.` }),
};

export type SamplingFieldName = keyof typeof SAMPLING_FIELDS;

/** The request fields, under their API names, as they arrive in JSON (unchecked). */
export type SamplingFields = { [name in SamplingFieldName]?: unknown };
