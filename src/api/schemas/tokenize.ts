import { z } from 'zod';
import { chatTemplateKwargsField, messagesField, modelField } from './common.js';
import { component } from './registry.js';

/** POST /tokenize and /detokenize, in vLLM's shapes. */

export const TokenizeRequest = component(
  z
    .strictObject({
      model: modelField,
      prompt: z.string().optional().meta({ description: 'Text to tokenize.' }),
      messages: messagesField.optional().meta({ description: 'A conversation, rendered with the chat template and tokenized.' }),
      add_generation_prompt: z.boolean().optional().meta({ description: 'With messages: end with the assistant header (default true).' }),
      add_special_tokens: z.boolean().optional().meta({ description: "Add the tokenizer's special tokens (none for Qwen3)." }),
      chat_template_kwargs: chatTemplateKwargsField,
      return_token_strs: z.boolean().optional().meta({ description: 'Also return each token as text.' }),
    })
    .refine((body) => (body.prompt === undefined) !== (body.messages === undefined), {
      error: 'give exactly one of prompt or messages',
      path: ['prompt'],
    }),
  'TokenizeRequest',
  'Text or a conversation to tokenize.',
);
export type TokenizeRequest = z.output<typeof TokenizeRequest>;

export const TokenizeResponse = component(
  z.object({
    count: z.int().min(0),
    max_model_len: z.int().min(1),
    tokens: z.array(z.int().min(0)),
    token_strs: z.array(z.string()).nullable(),
  }),
  'TokenizeResponse',
  'The token ids, their count and the context limit.',
);
export type TokenizeResponse = z.output<typeof TokenizeResponse>;

export const DetokenizeRequest = component(
  z.strictObject({ model: modelField, tokens: z.array(z.int().min(0)) }),
  'DetokenizeRequest',
  'Token ids to turn back into text.',
);
export type DetokenizeRequest = z.output<typeof DetokenizeRequest>;

export const DetokenizeResponse = component(z.object({ prompt: z.string() }), 'DetokenizeResponse', 'The decoded text (special tokens kept).');
export type DetokenizeResponse = z.output<typeof DetokenizeResponse>;
