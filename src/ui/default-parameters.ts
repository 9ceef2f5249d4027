import type { ChatParameters } from './conversation.js';

/**
 * A new conversation's parameter panel until the user changes it: Qwen3's recommended sampling
 * for answers without thinking (temperature 0.7, top_p 0.8, top_k 20). Its own module without
 * zod, so the page's bundle takes the values without the schemas.
 */
export const DEFAULT_PARAMETERS: ChatParameters = { temperature: 0.7, top_p: 0.8, top_k: 20, max_tokens: 1024, seed: null, thinking: false };
