import { z } from 'zod';
import { SAMPLING_FIELDS } from './sampling-fields.js';
import { FinishReason, maxTokensField, messagesField, modelField, stopField, Usage } from './common.js';
import { component } from './registry.js';

/**
 * POST /v1/qwen3/instruct: the lean streaming endpoint. Minimal JSON in; NDJSON out, one line per
 * text piece as a bare JSON string, then one object line with the finish reason and usage. A
 * bare string costs 3 bytes plus escaping per piece, against ~200 bytes of an SSE chat chunk.
 */

const { logprobs: _logprobs, top_logprobs: _topLogprobs, ...samplingFields } = SAMPLING_FIELDS;

export const InstructRequest = component(
  z
    .strictObject({
      model: modelField,
      prompt: z.string().optional().meta({ description: 'The instruction, sent as one user turn through the chat template.' }),
      messages: messagesField.optional().meta({ description: 'A whole conversation instead of `prompt`.' }),
      system: z.string().optional().meta({ description: 'A system prompt put before `prompt` or `messages`.' }),
      max_tokens: maxTokensField.meta({ description: 'Most tokens to generate; default: what fits the context.' }),
      stop: stopField,
      enable_thinking: z.boolean().optional().meta({ description: "Qwen3's thinking switch; false answers without a <think> block." }),
      ...samplingFields,
    })
    .refine((body) => (body.prompt === undefined) !== (body.messages === undefined), {
      error: 'give exactly one of prompt or messages',
      path: ['prompt'],
    }),
  'InstructRequest',
  'A lean generation request: one prompt (or conversation), sampling parameters, no choices, no logprobs.',
);
export type InstructRequest = z.output<typeof InstructRequest>;

export const InstructEnd = component(
  z.union([
    z.object({ finish_reason: FinishReason, usage: Usage }),
    z.object({ error: z.object({ message: z.string(), type: z.string(), param: z.string().nullable(), code: z.string().nullable() }) }),
  ]),
  'InstructEnd',
  "The stream's last line: the finish reason and exact usage, or the error that ended it.",
);

export const InstructLine = component(
  z.union([z.string(), InstructEnd]),
  'InstructLine',
  'One line of the application/x-ndjson stream: a JSON string is the next piece of text (whole characters); the last line is an InstructEnd object.',
);
