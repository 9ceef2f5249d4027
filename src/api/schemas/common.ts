import { z } from 'zod';
import { component } from './registry.js';
import { UNSUPPORTED } from '../validation/issue-to-error.js';
import { AssistantToolCall } from './tools.js';

/** Request fields and response parts that several endpoints share. */

/** Most choices one request may ask for: each is its own sequence with its own KV row. */
export const MAX_CHOICES = 16;
/** Most stop strings per request. OpenAI allows 4; more cost a little matching per token. */
export const MAX_STOP_STRINGS = 16;

export const modelField = z
  .string()
  .optional()
  .meta({ description: 'The served model name (GET /v1/models). Optional: the server serves one model.' });

export const stopField = z
  .union([z.string(), z.array(z.string().min(1)).max(MAX_STOP_STRINGS)], {
    error: `stop must be a string or an array of at most ${MAX_STOP_STRINGS} non-empty strings`,
  })
  .nullish()
  .meta({ description: 'Strings that end the output; they are not part of it.' });

export const nField = z
  .int()
  .min(1)
  .max(MAX_CHOICES)
  .nullish()
  .meta({ description: `How many independent choices to generate (1..${MAX_CHOICES}).` });

export const maxTokensField = z
  .int()
  .min(1)
  .nullish()
  .meta({ description: 'Most tokens to generate per choice.' });

export const streamField = z.boolean().nullish().meta({ description: 'Stream the output as server-sent events.' });

export const streamOptionsField = z
  .strictObject({
    include_usage: z.boolean().nullish().meta({ description: 'Send a last chunk with the usage and no choices.' }),
  })
  .nullish();

export const userField = z.string().nullish().meta({ description: 'An end-user id (accepted; not used).' });

/**
 * A field the server accepts only with a value that changes nothing (`tools: []`); any other
 * value is a 400 `unsupported_parameter`, so no client believes it was honoured.
 */
export function noOpOnly<Schema extends z.ZodType>(schema: Schema, isNoOp: (value: z.output<Schema>) => boolean, message: string) {
  return schema
    .refine((value) => value === null || value === undefined || isNoOp(value), { error: message, params: UNSUPPORTED })
    .nullish()
    .meta({ description: `Accepted only as a no-op: ${message}` });
}

export const Usage = component(
  z.object({
    prompt_tokens: z.int().min(0),
    completion_tokens: z.int().min(0),
    total_tokens: z.int().min(0),
    prompt_tokens_details: z.object({
      cached_tokens: z.int().min(0).meta({
        description:
          "Prompt tokens whose keys and values came from the prefix cache (an earlier request's row that began with the same tokens) instead of being computed.",
      }),
    }),
    completion_tokens_details: z
      .object({
        reasoning_tokens: z.int().min(0).meta({ description: "Generated tokens spent in Qwen3's `<think>` block, `</think>` included." }),
      })
      .optional()
      .meta({ description: 'Chat completions only.' }),
  }),
  'Usage',
  'Exact token counts: prompt tokens, and generated tokens summed over choices.',
);

export const ErrorResponse = component(
  z.object({
    error: z.object({
      message: z.string(),
      type: z.string(),
      param: z.string().nullable(),
      code: z.string().nullable(),
    }),
  }),
  'ErrorResponse',
  "OpenAI's error envelope. `type` is stable (also the errors metric's label); `code` says why.",
);

/** Why a choice ended: a stop string or token, or its token limit / the context limit. */
export const FinishReason = z.enum(['stop', 'length']);

/** vLLM's extra: the stop string or stop token id that ended the choice, when one did. */
export const StopReason = z.union([z.string(), z.int()]).nullable();

const TextPart = z.strictObject({ type: z.literal('text'), text: z.string() });

export const ChatMessage = component(
  z.strictObject({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    content: z
      .union([z.string(), z.array(TextPart)], { error: 'content must be a string or an array of text parts' })
      .nullish(),
    name: z.string().optional().meta({ description: 'Accepted; the Qwen3 chat template does not render it.' }),
    reasoning_content: z.string().nullish().meta({ description: "vLLM extra: an assistant turn's reasoning, for templates that render it." }),
    tool_calls: z.array(AssistantToolCall).nullish().meta({ description: "An assistant turn's function calls, as the server returned them." }),
    tool_call_id: z.string().optional().meta({ description: 'On a `tool` message: the id of the call whose result it holds.' }),
  }),
  'ChatMessage',
  'A chat message. `developer` is the system prompt under its newer name; `tool` holds a function\'s result. Content parts must be text.',
);

/**
 * Every message needs content except an assistant turn that carries tool calls (OpenAI's rule):
 * a `{role: 'user'}` alone would render as an empty turn the client never meant to send.
 */
export const messagesField = z
  .array(ChatMessage)
  .min(1, { error: 'messages must be a non-empty array' })
  .superRefine((messages, ctx) => {
    messages.forEach((message, i) => {
      if (message.content !== undefined && message.content !== null) return;
      const toolCalls = (message as { tool_calls?: unknown }).tool_calls;
      if (message.role === 'assistant' && Array.isArray(toolCalls) && toolCalls.length > 0) return;
      // An absent field: issueToError answers it as missing_required_parameter, naming the path.
      ctx.addIssue({ code: 'invalid_type', expected: 'string', input: undefined, path: [i, 'content'], message: `content is required for a ${message.role} message` });
    });
  });

export const chatTemplateKwargsField = z
  .strictObject({
    enable_thinking: z.boolean().optional().meta({ description: "Qwen3's thinking switch; false answers without a <think> block." }),
  })
  .nullish()
  .meta({ description: 'vLLM extra: variables for the chat template.' });
