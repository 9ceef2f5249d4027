import { z } from 'zod';
import { modelField, noOpOnly, userField } from './common.js';
import { component } from './registry.js';
import { SAMPLING_FIELDS } from './sampling-fields.js';

/**
 * POST /v1/responses (OpenAI's Responses API): request, response object, stream events. The
 * request is mapped onto the chat machinery (responses/response-request.ts): its input items
 * become chat messages, its function tools chat tools, `text.format` a response_format.
 */

/** OpenAI's rule for function names (as for chat tools). */
const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** Text parts of an input message: what the user wrote, or an earlier answer given back. */
const InputTextPart = z.strictObject({ type: z.literal('input_text'), text: z.string() });
const OutputTextPart = z.object({ type: z.literal('output_text'), text: z.string() });

const InputMessage = z.strictObject({
  type: z.literal('message').optional(),
  id: z.string().optional(),
  status: z.string().optional(),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.union([z.string(), z.array(z.union([InputTextPart, OutputTextPart]))], {
    error: "content must be a string or an array of 'input_text' / 'output_text' parts (this model reads text only)",
  }),
});

const FunctionCallItem = z.strictObject({
  type: z.literal('function_call'),
  id: z.string().optional(),
  call_id: z.string().min(1),
  name: z.string(),
  arguments: z.string().meta({ description: 'The arguments as a JSON string, as the server returned them.' }),
  status: z.string().optional(),
});

const FunctionCallOutputItem = z.strictObject({
  type: z.literal('function_call_output'),
  id: z.string().optional(),
  call_id: z.string().min(1),
  output: z.string().meta({ description: "The function's result, given to the model as a tool message." }),
  status: z.string().optional(),
});

/** An earlier answer's reasoning handed back: accepted and not rendered (Qwen3's template drops earlier thinking). */
const ReasoningItem = z.object({ type: z.literal('reasoning'), id: z.string().optional() });

export const ResponseInputItem = component(
  z.union([InputMessage, FunctionCallItem, FunctionCallOutputItem, ReasoningItem], {
    error: "an input item is a message {role, content}, a 'function_call', a 'function_call_output' or a 'reasoning' item",
  }),
  'ResponseInputItem',
  'One item of `input`: a message, a function call the model made, the output of such a call, or a reasoning item given back (ignored).',
);
export type ResponseInputItem = z.output<typeof ResponseInputItem>;

export const ResponseFunctionTool = component(
  z.strictObject({
    type: z.literal('function'),
    name: z.string().regex(FUNCTION_NAME, { error: 'a function name is 1-64 letters, digits, underscores or dashes' }),
    description: z.string().nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish().meta({ description: "The arguments' JSON Schema; left out, any object." }),
    strict: z.boolean().nullish().meta({ description: 'Accepted; forced calls always follow the schema.' }),
  }),
  'ResponseFunctionTool',
  "A function the model may call (the Responses API's flat shape). Rendered and parsed as the chat API's tools are.",
);
export type ResponseFunctionTool = z.output<typeof ResponseFunctionTool>;

export const ResponseToolChoice = z.union(
  [z.enum(['none', 'auto', 'required']), z.strictObject({ type: z.literal('function'), name: z.string() })],
  { error: "tool_choice must be 'none', 'auto', 'required' or {type: 'function', name}" },
);

export const ResponseTextFormat = component(
  z.discriminatedUnion(
    'type',
    [
      z.strictObject({ type: z.literal('text') }),
      z.strictObject({ type: z.literal('json_object') }),
      z.strictObject({
        type: z.literal('json_schema'),
        name: z.string().min(1).max(64),
        description: z.string().optional(),
        schema: z.record(z.string(), z.unknown()).meta({ description: 'The JSON Schema the output text must be valid against.' }),
        strict: z.boolean().nullish(),
      }),
    ],
    { error: "text.format.type must be 'text', 'json_object' or 'json_schema'" },
  ),
  'ResponseTextFormat',
  'Structured outputs by constrained decoding, as response_format of chat completions: the output text is valid JSON (against `schema`) by construction.',
);

export const ResponseCreateRequest = component(
  z.strictObject({
    model: modelField,
    input: z
      .union([z.string(), z.array(ResponseInputItem).min(1)], { error: 'input must be a string or a non-empty array of input items' })
      .meta({ description: 'The user message, or the conversation as input items.' }),
    instructions: z.string().nullish().meta({ description: 'A system message put first; not carried over by previous_response_id.' }),
    previous_response_id: z.string().nullish().meta({ description: 'Continue a stored response: its input and output come before this input.' }),
    max_output_tokens: z.int().min(1).nullish().meta({ description: 'Most tokens to generate, reasoning included.' }),
    stream: z.boolean().nullish().meta({ description: 'Stream typed server-sent events (response.created ... response.completed).' }),
    store: z.boolean().nullish().meta({ description: 'Keep the response for GET /v1/responses/{id} and previous_response_id. Default true.' }),
    metadata: z.record(z.string(), z.string()).nullish().meta({ description: 'Stored and returned with the response.' }),
    tools: z.array(ResponseFunctionTool).max(128).nullish(),
    tool_choice: ResponseToolChoice.nullish(),
    parallel_tool_calls: z.boolean().nullish().meta({ description: 'false: at most one call per answer. Default true.' }),
    text: z
      .strictObject({ format: ResponseTextFormat.optional(), verbosity: z.string().nullish().meta({ description: 'Accepted and ignored.' }) })
      .nullish(),
    reasoning: z
      .strictObject({
        effort: z.string().nullish().meta({ description: "Accepted and ignored: Qwen3 has no effort levels." }),
        summary: z.string().nullish().meta({ description: 'Accepted and ignored: the reasoning item carries the whole thinking.' }),
      })
      .nullish(),
    temperature: SAMPLING_FIELDS.temperature,
    top_p: SAMPLING_FIELDS.top_p,
    top_k: SAMPLING_FIELDS.top_k,
    min_p: SAMPLING_FIELDS.min_p,
    presence_penalty: SAMPLING_FIELDS.presence_penalty,
    frequency_penalty: SAMPLING_FIELDS.frequency_penalty,
    repetition_penalty: SAMPLING_FIELDS.repetition_penalty,
    seed: SAMPLING_FIELDS.seed,
    logit_bias: SAMPLING_FIELDS.logit_bias,
    user: userField,
    service_tier: z.string().nullish().meta({ description: 'Accepted and ignored: there is one tier.' }),
    safety_identifier: z.string().nullish().meta({ description: 'Accepted and ignored.' }),
    prompt_cache_key: z.string().nullish().meta({ description: 'Accepted and ignored: prefix caching is automatic.' }),
    truncation: noOpOnly(z.string(), (t) => t === 'disabled', "truncation is accepted only as 'disabled'"),
    include: noOpOnly(z.array(z.string()), (list) => list.length === 0, 'include is accepted only as an empty list'),
    background: noOpOnly(z.boolean(), (b) => !b, 'background is accepted only as false'),
  }),
  'ResponseCreateRequest',
  "OpenAI's Responses API request. Unknown fields are a 400 unsupported_parameter.",
);
export type ResponseCreateRequest = z.output<typeof ResponseCreateRequest>;

const OutputText = z.object({
  type: z.literal('output_text'),
  text: z.string(),
  annotations: z.array(z.unknown()),
  logprobs: z.array(z.unknown()),
});

const MessageOutput = z.object({
  type: z.literal('message'),
  id: z.string(),
  status: z.enum(['in_progress', 'completed', 'incomplete']),
  role: z.literal('assistant'),
  content: z.array(OutputText),
});

const ReasoningOutput = z.object({
  type: z.literal('reasoning'),
  id: z.string(),
  summary: z.array(z.unknown()),
  content: z.array(z.object({ type: z.literal('reasoning_text'), text: z.string() })).meta({ description: "Qwen3's `<think>` block." }),
});

const FunctionCallOutput = z.object({
  type: z.literal('function_call'),
  id: z.string(),
  call_id: z.string(),
  name: z.string(),
  arguments: z.string(),
  status: z.enum(['in_progress', 'completed', 'incomplete']),
});

export const ResponseOutputItem = component(
  z.discriminatedUnion('type', [MessageOutput, ReasoningOutput, FunctionCallOutput]),
  'ResponseOutputItem',
  "One item of a response's output, in the order the model wrote them: reasoning, the message, function calls.",
);
export type ResponseOutputItem = z.output<typeof ResponseOutputItem>;

export const ResponseUsage = component(
  z.object({
    input_tokens: z.int().min(0),
    input_tokens_details: z.object({ cached_tokens: z.int().min(0) }),
    output_tokens: z.int().min(0),
    output_tokens_details: z.object({ reasoning_tokens: z.int().min(0) }),
    total_tokens: z.int().min(0),
  }),
  'ResponseUsage',
  'Exact token counts of the request (input: the whole rendered conversation).',
);

export const ResponseObject = component(
  z.object({
    id: z.string(),
    object: z.literal('response'),
    created_at: z.int(),
    status: z.enum(['in_progress', 'completed', 'incomplete', 'failed']),
    error: z.object({ code: z.string().nullable(), message: z.string() }).nullable(),
    incomplete_details: z.object({ reason: z.literal('max_output_tokens') }).nullable(),
    instructions: z.string().nullable(),
    max_output_tokens: z.int().nullable(),
    model: z.string(),
    output: z.array(ResponseOutputItem),
    parallel_tool_calls: z.boolean(),
    previous_response_id: z.string().nullable(),
    reasoning: z.object({ effort: z.string().nullable(), summary: z.string().nullable() }),
    store: z.boolean(),
    temperature: z.number().nullable(),
    top_p: z.number().nullable(),
    text: z.object({ format: ResponseTextFormat }),
    tool_choice: ResponseToolChoice,
    tools: z.array(ResponseFunctionTool),
    truncation: z.literal('disabled'),
    metadata: z.record(z.string(), z.string()),
    usage: ResponseUsage.nullable(),
    user: z.string().nullable(),
  }),
  'Response',
  'A response: its output items and usage. `incomplete` with incomplete_details.reason max_output_tokens when the output was cut at its limit.',
);
export type ResponseObject = z.output<typeof ResponseObject>;

export const ResponseStreamEvent = component(
  z.object({
    type: z.string().meta({
      description:
        'response.created, response.in_progress, response.output_item.added, response.content_part.added, response.output_text.delta / .done, response.reasoning_text.delta / .done, response.function_call_arguments.delta / .done, response.content_part.done, response.output_item.done, then response.completed (or response.incomplete, or error).',
    }),
    sequence_number: z.int().min(0),
  }).catchall(z.unknown()),
  'ResponseStreamEvent',
  'One server-sent event of a streamed response: `event: <type>` and `data: <event>`; sequence_number counts from 0. There is no `[DONE]`.',
);

export const ResponseDeleted = component(
  z.object({ id: z.string(), object: z.literal('response.deleted'), deleted: z.literal(true) }),
  'ResponseDeleted',
  'A stored response removed: later GETs and previous_response_id calls with its id fail.',
);
