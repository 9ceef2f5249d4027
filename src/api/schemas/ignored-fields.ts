import { z } from 'zod';

/**
 * Fields that clients send routinely and that change nothing this server could honour, accepted
 * and ignored so that such clients work unchanged (README lists them). Anything that would change
 * the answer if honoured is not here: it is implemented or refused with a 400.
 */
const ignored = (description: string) => ({ description: `Accepted and ignored: ${description}` });

export const IGNORED_FIELDS = {
  metadata: z.record(z.string(), z.string()).nullish().meta(ignored("OpenAI's tags for stored completions; nothing is stored.")),
  store: z.boolean().nullish().meta(ignored('nothing is stored, so there is nothing to retrieve later.')),
  service_tier: z.string().nullish().meta(ignored('there is one tier.')),
  reasoning_effort: z
    .string()
    .nullish()
    .meta(ignored("Qwen3 has no effort levels; use chat_template_kwargs.enable_thinking to switch its thinking off.")),
  skip_special_tokens: z.boolean().nullish().meta(ignored("vLLM's switch; the output never holds the special tokens that end it.")),
  prompt_cache_key: z.string().nullish().meta(ignored('prefix caching is automatic.')),
  safety_identifier: z.string().nullish().meta(ignored('an end-user id, as `user`.')),
};
