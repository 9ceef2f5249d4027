import type { RequestUsage } from '../../engine/generation.js';

/** The engine's exact counts in OpenAI's usage shape. */
export function usageBody(usage: RequestUsage): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  return { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.promptTokens + usage.completionTokens };
}
