import { z } from 'zod';
import { component } from './registry.js';

/** OpenAI's `response_format` of chat completions: free text, any JSON object, or a JSON Schema. */

const JsonSchemaFormat = z.strictObject({
  name: z.string().min(1).max(64).meta({ description: 'A name for the format (OpenAI requires one; not used).' }),
  description: z.string().optional().meta({ description: 'Accepted; not used.' }),
  schema: z
    .record(z.string(), z.unknown())
    .optional()
    .meta({ description: 'The JSON Schema the output must be valid against; left out, any JSON object.' }),
  strict: z
    .boolean()
    .nullish()
    .meta({ description: 'Accepted; the output always follows the schema (constrained decoding), strict or not.' }),
});

export const ResponseFormat = component(
  z.discriminatedUnion(
    'type',
    [
      z.strictObject({ type: z.literal('text') }),
      z.strictObject({ type: z.literal('json_object') }),
      z.strictObject({ type: z.literal('json_schema'), json_schema: JsonSchemaFormat }),
    ],
    { error: "response_format.type must be 'text', 'json_object' or 'json_schema'" },
  ),
  'ResponseFormat',
  "Structured outputs by constrained decoding: with `json_object` the answer is a JSON object, with `json_schema` a JSON value valid against `json_schema.schema`; at every step the tokens that would break it are masked before sampling. A schema the grammar engine (xgrammar) cannot enforce is a 400 `unsupported_schema` naming the part. Unless `chat_template_kwargs.enable_thinking` is true, the prompt is rendered without Qwen3's thinking block, so the answer is the JSON alone.",
);
export type ResponseFormat = z.output<typeof ResponseFormat>;
