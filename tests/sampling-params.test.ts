import { describe, expect, it } from 'vitest';
import { ServeError } from '../src/errors.js';
import { parseSamplingParams } from '../src/api/generation/parse-sampling-params.js';
import type { SamplingFields } from '../src/api/schemas/sampling-fields.js';
import { DEFAULT_SAMPLING_PARAMS } from '../src/engine/sampling/sampling-params.js';

const LIMITS = { vocabSize: 151936 };

function rejection(fields: SamplingFields): ServeError {
  try {
    parseSamplingParams(fields, LIMITS);
  } catch (error) {
    expect(error).toBeInstanceOf(ServeError);
    return error as ServeError;
  }
  throw new Error(`accepted ${JSON.stringify(fields)}`);
}

describe('parseSamplingParams', () => {
  it("fills in OpenAI's defaults, treating null as absent", () => {
    expect(parseSamplingParams({}, LIMITS)).toEqual(DEFAULT_SAMPLING_PARAMS);
    expect(parseSamplingParams({ temperature: null, top_p: null, seed: null, logit_bias: null }, LIMITS)).toEqual(
      DEFAULT_SAMPLING_PARAMS,
    );
  });

  it('reads every field', () => {
    const params = parseSamplingParams(
      {
        temperature: 0.7,
        top_p: 0.9,
        top_k: 20,
        min_p: 0.05,
        presence_penalty: -0.5,
        frequency_penalty: 1.5,
        repetition_penalty: 1.1,
        logit_bias: { '50256': -100, '7': 2.5 },
        seed: -12345,
        min_tokens: 4,
        ignore_eos: true,
        stop_token_ids: [42, 42, 151643],
        logprobs: true,
        top_logprobs: 20,
      },
      LIMITS,
    );
    expect(params).toEqual({
      temperature: 0.7,
      topP: 0.9,
      topK: 20,
      minP: 0.05,
      presencePenalty: -0.5,
      frequencyPenalty: 1.5,
      repetitionPenalty: 1.1,
      logitBias: new Map([
        [50256, -100],
        [7, 2.5],
      ]),
      seed: -12345,
      minTokens: 4,
      ignoreEos: true,
      stopTokenIds: [42, 151643],
      logprobs: true,
      topLogprobs: 20,
    });
  });

  it("takes vLLM's -1 for top_k off", () => {
    expect(parseSamplingParams({ top_k: -1 }, LIMITS).topK).toBe(0);
  });

  it("starts from the model's generation defaults when given, and the request overrides them", () => {
    const defaults = { temperature: 0.6, topP: 0.95, topK: 20 };
    expect(parseSamplingParams({}, LIMITS, defaults)).toMatchObject(defaults);
    expect(parseSamplingParams({ temperature: 0 }, LIMITS, defaults)).toMatchObject({ temperature: 0, topP: 0.95 });
  });

  it.each<[SamplingFields, string]>([
    [{ temperature: 2.5 }, 'temperature'],
    [{ temperature: -0.1 }, 'temperature'],
    [{ temperature: '1' }, 'temperature'],
    [{ temperature: Number.NaN }, 'temperature'],
    [{ top_p: 0 }, 'top_p'],
    [{ top_p: 1.01 }, 'top_p'],
    [{ top_k: -2 }, 'top_k'],
    [{ top_k: 2.5 }, 'top_k'],
    [{ min_p: 1.5 }, 'min_p'],
    [{ presence_penalty: 2.1 }, 'presence_penalty'],
    [{ frequency_penalty: -3 }, 'frequency_penalty'],
    [{ repetition_penalty: 0 }, 'repetition_penalty'],
    [{ repetition_penalty: 2.5 }, 'repetition_penalty'],
    [{ logit_bias: { '5': 101 } }, 'logit_bias'],
    [{ logit_bias: { abc: 1 } }, 'logit_bias'],
    [{ logit_bias: { '151936': 1 } }, 'logit_bias'],
    [{ logit_bias: [1, 2] }, 'logit_bias'],
    [{ seed: 1.5 }, 'seed'],
    [{ seed: 2 ** 60 }, 'seed'],
    [{ min_tokens: -1 }, 'min_tokens'],
    [{ ignore_eos: 'yes' }, 'ignore_eos'],
    [{ stop_token_ids: [151936] }, 'stop_token_ids'],
    [{ stop_token_ids: 5 }, 'stop_token_ids'],
    [{ logprobs: 1 }, 'logprobs'],
    [{ logprobs: true, top_logprobs: 21 }, 'top_logprobs'],
    [{ top_logprobs: 3 }, 'top_logprobs'],
  ])('rejects %j with a 400 naming %s', (fields, param) => {
    const error = rejection(fields);
    // The field, or the entry inside it at fault (`logit_bias.5`).
    expect(error.param === param || error.param?.startsWith(`${param}.`)).toBe(true);
    expect(error.status).toBe(400);
    expect(error.type).toBe('invalid_request_error');
    expect(error.message).toContain(param);
  });
});
