import { randomUUID } from 'node:crypto';
import { ServeError, invalidParam } from '../../errors.js';
import type { GrammarSpec } from '../../engine/constraints/grammar-spec.js';
import type { GenerationRequest, RequestPriority } from '../../engine/generation.js';
import type { SamplingFields } from '../schemas/sampling-fields.js';
import type { ServedModel } from '../serving-state.js';
import { parseSamplingParams } from './parse-sampling-params.js';

export interface GenerationInput {
  promptTokenIds: number[];
  /** The request field holding the prompt (`messages`, `prompt`), named when it is too long. */
  promptParam: string;
  /** max_tokens as requested; absent means `defaultMaxTokens`, or else all that fits. */
  maxTokens: number | null | undefined;
  /** The request field holding max_tokens, named when it does not fit (Responses: `max_output_tokens`). */
  maxTokensParam?: string;
  /** The endpoint's default when max_tokens is absent (completions: 16); clamped to what fits. */
  defaultMaxTokens?: number;
  n?: number | null;
  stop?: string | string[] | null;
  sampling: SamplingFields;
  /** Default interactive; batch lines come in-process at `batch` (see InProcessBindings). */
  priority?: RequestPriority;
  /** What the output must match (response_format, forced tool calls), checked by the caller. */
  grammar?: GrammarSpec | null;
  /** The request field the grammar came from, named when it conflicts with another setting. */
  grammarParam?: string;
}

/**
 * Turns a validated request into the engine's GenerationRequest: sampling parameters checked
 * against the vocabulary and filled from the model's defaults, and max_tokens checked against
 * the context: prompt + max_tokens must fit, or the request is a 400 context_length_exceeded
 * naming both counts (vLLM's rule; the engine would otherwise cut the output short silently).
 */
export function planGeneration(model: ServedModel, input: GenerationInput): GenerationRequest {
  const sampling = parseSamplingParams(input.sampling, { vocabSize: model.engine.info.vocabSize }, model.samplingDefaults);
  const limit = model.engine.info.contextLimit;
  const promptTokens = input.promptTokenIds.length;
  if (promptTokens === 0) throw invalidParam(input.promptParam, `${input.promptParam} is empty: there is nothing to continue`);
  const room = limit - promptTokens;
  if (room < 1) {
    throw contextExceeded(
      input.promptParam,
      `This model's context limit is ${limit} tokens and the prompt has ${promptTokens} tokens, which leaves no room to generate. Shorten the ${input.promptParam}.`,
    );
  }
  let maxTokens: number;
  if (input.maxTokens !== null && input.maxTokens !== undefined) {
    if (promptTokens + input.maxTokens > limit) {
      const maxTokensParam = input.maxTokensParam ?? 'max_tokens';
      throw contextExceeded(
        maxTokensParam,
        `This model's context limit is ${limit} tokens, but ${promptTokens + input.maxTokens} were requested: ${promptTokens} in the prompt and ${input.maxTokens} to generate. Lower ${maxTokensParam} to at most ${room} or shorten the ${input.promptParam}.`,
      );
    }
    maxTokens = input.maxTokens;
  } else {
    maxTokens = Math.min(room, input.defaultMaxTokens ?? room);
  }
  if (sampling.minTokens > maxTokens) {
    throw invalidParam('min_tokens', `min_tokens (${sampling.minTokens}) must not exceed ${input.maxTokensParam ?? 'max_tokens'} (${maxTokens})`);
  }
  if (input.grammar) checkGrammarCompatible(sampling, input.grammarParam ?? 'response_format');
  const stop = input.stop === null || input.stop === undefined ? [] : typeof input.stop === 'string' ? [input.stop] : input.stop;
  return {
    id: randomUUID(),
    promptTokenIds: input.promptTokenIds,
    sampling,
    n: input.n ?? 1,
    maxTokens,
    stop: stop.filter((s) => s.length > 0),
    priority: input.priority ?? 'interactive',
    ...(input.grammar ? { grammar: input.grammar } : {}),
    // The engine's clock (EngineCore): the monotonic clock from the thread's time origin. Date.now()
    // follows wall-clock adjustments, so the engine's time to first token could come out negative.
    arrivalTime: performance.timeOrigin + performance.now(),
  };
}

/**
 * A grammar ends the output with an end-of-sequence token once the value is complete, and
 * allows nothing else then: min_tokens (which bans that token early) and ignore_eos (which
 * ignores it) would leave no token to sample.
 */
function checkGrammarCompatible(sampling: GenerationRequest['sampling'], grammarParam: string): void {
  if (sampling.minTokens > 0) throw invalidParam('min_tokens', `min_tokens cannot be combined with ${grammarParam}: the grammar decides where the output ends`);
  if (sampling.ignoreEos) throw invalidParam('ignore_eos', `ignore_eos cannot be combined with ${grammarParam}: the grammar decides where the output ends`);
}

function contextExceeded(param: string, message: string): ServeError {
  return new ServeError('invalid_request_error', message, { param, code: 'context_length_exceeded' });
}
