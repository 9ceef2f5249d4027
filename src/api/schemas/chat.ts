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
import { IGNORED_FIELDS } from './ignored-fields.js';
import { component } from './registry.js';
import { ResponseFormat } from './response-format.js';
import { FunctionTool, ToolChoice } from './tools.js';

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
    tools: z.array(FunctionTool).max(128).nullish().meta({ description: 'Functions the model may call (at most 128).' }),
    tool_choice: ToolChoice.nullish(),
    parallel_tool_calls: z.boolean().nullish().meta({ description: 'false: at most one call per answer. Default true.' }),
    response_format: ResponseFormat.nullish(),
    ...IGNORED_FIELDS,
    modalities: noOpOnly(z.array(z.string()), (m) => m.length === 1 && m[0] === 'text', "modalities is accepted only as ['text']"),
  }),
  'ChatCompletionRequest',
  "OpenAI's chat completion request, plus vLLM's sampling extras. Unknown fields are a 400 unsupported_parameter.",
);
export type ChatCompletionRequest = z.output<typeof ChatCompletionRequest>;

/** A chat choice also ends with `tool_calls` when its answer is function calls. */
const ChatFinishReason = z.union([FinishReason, z.literal('tool_calls')]);

const ToolCallOut = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string().meta({ description: 'The arguments as a JSON string.' }) }),
});

/** Streamed like OpenAI: a call's first delta has its index, id and name; later ones add argument text. */
const ToolCallDelta = z.object({
  index: z.int().min(0),
  id: z.string().optional(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string().optional(), arguments: z.string().optional() }),
});

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
        message: z.object({
          role: z.literal('assistant'),
          content: z.string().nullable().meta({ description: 'The answer; null when the answer is only function calls.' }),
          reasoning_content: z.string().optional().meta({ description: "Qwen3's thinking (the `<think>` block), when the answer had one." }),
          tool_calls: z.array(ToolCallOut).optional(),
        }),
        logprobs: ChatLogprobs.nullable(),
        finish_reason: ChatFinishReason,
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
        delta: z.object({
          role: z.literal('assistant').optional(),
          content: z.string().optional(),
          reasoning_content: z.string().optional(),
          tool_calls: z.array(ToolCallDelta).optional(),
        }),
        logprobs: ChatLogprobs.nullable(),
        finish_reason: ChatFinishReason.nullable(),
        stop_reason: StopReason.optional(),
      }),
    ),
    usage: Usage.nullable().optional(),
  }),
  'ChatCompletionChunk',
  "One server-sent event of a streamed chat completion (`data: <chunk>`); the stream ends with `data: [DONE]`. With stream_options.include_usage every chunk has `usage: null` and a last chunk has `choices: []` and the usage.",
);
export type ChatCompletionChunk = z.output<typeof ChatCompletionChunk>;
