import { z } from 'zod';
import { MAX_TOP_LOGPROBS, SAMPLING_FIELDS } from './sampling-fields.js';
import { FinishReason, maxTokensField, modelField, nField, noOpOnly, stopField, StopReason, streamField, streamOptionsField, Usage, userField } from './common.js';
import { component } from './registry.js';

/** POST /v1/completions (OpenAI's legacy text completions): request, response, stream chunk. */

/** OpenAI's default for this endpoint (chat's default is "what fits the context"). */
export const DEFAULT_COMPLETION_MAX_TOKENS = 16;

const { logprobs: _chatLogprobs, top_logprobs: _chatTopLogprobs, ...samplingFields } = SAMPLING_FIELDS;

const tokenIds = z.array(z.int().min(0)).min(1);

/**
 * One prompt, as text or token ids. A list of several prompts (OpenAI's batch form) is refused:
 * send one request per prompt, which the scheduler batches just as well.
 */
const promptField = z
  .union([z.string(), tokenIds, z.array(z.string()).length(1), z.array(tokenIds).length(1)], {
    error: 'prompt must be a string or an array of token ids (one prompt per request)',
  })
  .meta({ description: 'The prompt: text, or token ids. A one-element list of either is accepted too.' });

export const CompletionRequest = component(
  z.strictObject({
    model: modelField,
    prompt: promptField,
    max_tokens: maxTokensField.meta({ description: `Most tokens to generate per choice; default ${DEFAULT_COMPLETION_MAX_TOKENS}, as OpenAI.` }),
    n: nField,
    stop: stopField,
    stream: streamField,
    stream_options: streamOptionsField,
    user: userField,
    ...samplingFields,
    logprobs: z
      .int()
      .min(0)
      .max(MAX_TOP_LOGPROBS)
      .nullish()
      .meta({ description: `Return each token's log-probability and this many most likely alternatives (0..${MAX_TOP_LOGPROBS}).` }),
    echo: noOpOnly(z.boolean(), (echo) => !echo, 'echo is accepted only as false'),
    suffix: noOpOnly(z.string(), (suffix) => suffix === '', 'suffix (insertion) is not supported'),
    best_of: noOpOnly(z.int(), (bestOf) => bestOf === 1, 'best_of is accepted only as 1'),
  }),
  'CompletionRequest',
  "OpenAI's text completion request, plus vLLM's sampling extras. Unknown fields are a 400 unsupported_parameter.",
);
export type CompletionRequest = z.output<typeof CompletionRequest>;

export const CompletionLogprobs = component(
  z.object({
    tokens: z.array(z.string()),
    token_logprobs: z.array(z.number()),
    top_logprobs: z.array(z.record(z.string(), z.number())),
    text_offset: z.array(z.int().min(0)),
  }),
  'CompletionLogprobs',
  "OpenAI's completions logprobs: per token its text, log-probability, the most likely alternatives (text -> logprob, the chosen token included) and its offset in the text.",
);
export type CompletionLogprobs = z.output<typeof CompletionLogprobs>;

const CompletionChoice = z.object({
  index: z.int().min(0),
  text: z.string(),
  logprobs: CompletionLogprobs.nullable(),
  finish_reason: FinishReason.nullable(),
  stop_reason: StopReason.optional(),
});

export const Completion = component(
  z.object({
    id: z.string(),
    object: z.literal('text_completion'),
    created: z.int(),
    model: z.string(),
    choices: z.array(CompletionChoice.extend({ finish_reason: FinishReason })),
    usage: Usage,
  }),
  'Completion',
  'A whole text completion.',
);
export type Completion = z.output<typeof Completion>;

export const CompletionChunk = component(
  z.object({
    id: z.string(),
    object: z.literal('text_completion'),
    created: z.int(),
    model: z.string(),
    choices: z.array(CompletionChoice),
    usage: Usage.nullable().optional(),
  }),
  'CompletionChunk',
  'One server-sent event of a streamed text completion (`data: <chunk>`); the stream ends with `data: [DONE]`.',
);
export type CompletionChunk = z.output<typeof CompletionChunk>;
