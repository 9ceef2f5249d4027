import type { RequestUsage } from '../../engine/generation.js';

/** OpenAI's usage object (chat and text completions, the lean stream's last line). */
export interface UsageBody {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Prompt tokens served from the prefix cache instead of being computed again. */
  prompt_tokens_details: { cached_tokens: number };
}

/** The engine's exact counts in OpenAI's usage shape. */
export function usageBody(usage: RequestUsage): UsageBody {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedPromptTokens },
  };
}
