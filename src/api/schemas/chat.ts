import { z } from 'zod';
import { SAMPLING_FIELDS } from './sampling-fields.js';
import {
  chatTemplateKwargsField,
  FinishReason,
  maxTokensField,
  messagesField,
  modelField,
  nField,
  noOpOnly,
  stopField,
  StopReason,
  streamField,
  streamOptionsField,
  Usage,
  userField,
} from './common.js';
import { component } from './registry.js';
import { ResponseFormat } from './response-format.js';

/** POST /v1/chat/completions: request, response, stream chunk. */

export const ChatCompletionRequest = component(
  z.strictObject({
    model: modelField,
    messages: messagesField,
    max_tokens: maxTokensField,
    max_completion_tokens: maxTokensField.meta({ description: "OpenAI's newer name for max_tokens; wins when both are given." }),
    n: nField,
    stop: stopField,
    stream: streamField,
    stream_options: streamOptionsField,
    user: userField,
    ...SAMPLING_FIELDS,
    chat_template_kwargs: chatTemplateKwargsField,
    tools: noOpOnly(z.array(z.unknown()), (tools) => tools.length === 0, 'tools (function calling) is not supported; only [] is accepted'),
    tool_choice: noOpOnly(z.string(), (choice) => choice === 'none' || choice === 'auto', "tool_choice is accepted only as 'none' or 'auto' (no tools)"),
    parallel_tool_calls: noOpOnly(z.boolean(), () => true, 'parallel_tool_calls has no effect without tools'),
    response_format: ResponseFormat.nullish(),
    store: noOpOnly(z.boolean(), (store) => !store, 'store is accepted only as false (nothing is stored)'),
    modalities: noOpOnly(z.array(z.string()), (m) => m.length === 1 && m[0] === 'text', "modalities is accepted only as ['text']"),
  }),
  'ChatCompletionRequest',
  "OpenAI's chat completion request, plus vLLM's sampling extras. Unknown fields are a 400 unsupported_parameter.",
);
export type ChatCompletionRequest = z.output<typeof ChatCompletionRequest>;

const TopLogprob = z.object({
  token: z.string(),
  logprob: z.number(),
  bytes: z.array(z.int().min(0).max(255)).nullable(),
});

export const ChatLogprobs = component(
  z.object({
    content: z.array(TopLogprob.extend({ top_logprobs: z.array(TopLogprob) })).nullable(),
    refusal: z.null().optional(),
  }),
  'ChatLogprobs',
  'Per output token: its text, log-probability (of the model, before sampling edits), UTF-8 bytes, and the most likely alternatives.',
);
export type ChatLogprobs = z.output<typeof ChatLogprobs>;

export const ChatCompletion = component(
  z.object({
    id: z.string(),
    object: z.literal('chat.completion'),
    created: z.int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.int().min(0),
        message: z.object({ role: z.literal('assistant'), content: z.string().nullable() }),
        logprobs: ChatLogprobs.nullable(),
        finish_reason: FinishReason,
        stop_reason: StopReason,
      }),
    ),
    usage: Usage,
  }),
  'ChatCompletion',
  'A whole chat completion.',
);
export type ChatCompletion = z.output<typeof ChatCompletion>;

export const ChatCompletionChunk = component(
  z.object({
    id: z.string(),
    object: z.literal('chat.completion.chunk'),
    created: z.int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.int().min(0),
        delta: z.object({ role: z.literal('assistant').optional(), content: z.string().optional() }),
        logprobs: ChatLogprobs.nullable(),
        finish_reason: FinishReason.nullable(),
        stop_reason: StopReason.optional(),
      }),
    ),
    usage: Usage.nullable().optional(),
  }),
  'ChatCompletionChunk',
  "One server-sent event of a streamed chat completion (`data: <chunk>`); the stream ends with `data: [DONE]`. With stream_options.include_usage every chunk has `usage: null` and a last chunk has `choices: []` and the usage.",
);
export type ChatCompletionChunk = z.output<typeof ChatCompletionChunk>;
