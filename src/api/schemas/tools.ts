import { z } from 'zod';
import { component } from './registry.js';

/** OpenAI's function tools of chat completions: what the model may call, and how it must. */

/** OpenAI's rule for function names. */
const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export const FunctionTool = component(
  z.strictObject({
    type: z.literal('function'),
    function: z.strictObject({
      name: z.string().regex(FUNCTION_NAME, { error: 'a function name is 1-64 letters, digits, underscores or dashes' }),
      description: z.string().optional(),
      parameters: z.record(z.string(), z.unknown()).optional().meta({ description: "The arguments' JSON Schema; left out, any object." }),
      strict: z.boolean().nullish().meta({ description: 'Accepted; forced calls always follow the schema.' }),
    }),
  }),
  'FunctionTool',
  "A function the model may call. Qwen3's chat template lists it in the system prompt; the model answers with a `<tool_call>` block that the server returns as `tool_calls`.",
);
export type FunctionTool = z.output<typeof FunctionTool>;

export const ToolChoice = component(
  z.union(
    [
      z.enum(['none', 'auto', 'required']),
      z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: z.string() }) }),
    ],
    { error: "tool_choice must be 'none', 'auto', 'required' or {type: 'function', function: {name}}" },
  ),
  'ToolChoice',
  "`none`: no calls (tools are not shown to the model). `auto` (the default with tools): the model chooses; once it opens a `<tool_call>` block the call is constrained to the tools' schemas. `required` and a named function: the answer is constrained to valid calls (of that function), so it always is one.",
);
export type ToolChoice = z.output<typeof ToolChoice>;

/** A function call of an assistant turn in the history, as OpenAI sends it back. */
export const AssistantToolCall = z.strictObject({
  id: z.string(),
  type: z.literal('function'),
  function: z.strictObject({ name: z.string(), arguments: z.string() }),
});
