import type { ChatMessage, ChatParameters } from '../../conversation.js';

/**
 * The /v1/chat/completions body for a conversation: its system prompt, the turns (answers
 * without their reasoning, as Qwen3's template wants history), and the parameter panel.
 */
export function chatRequestBody(model: string, systemPrompt: string, messages: readonly ChatMessage[], params: ChatParameters): object {
  const turns = messages.map(({ role, content }) => ({ role, content }));
  return {
    model,
    messages: systemPrompt.trim() ? [{ role: 'system', content: systemPrompt }, ...turns] : turns,
    ...samplingFields(params),
    stream_options: { include_usage: true },
  };
}

/** The parameter panel as request fields; a null seed is left out (a fresh one each time). */
export function samplingFields(params: ChatParameters): object {
  return {
    temperature: params.temperature,
    top_p: params.top_p,
    top_k: params.top_k,
    max_tokens: params.max_tokens,
    ...(params.seed === null ? {} : { seed: params.seed }),
    chat_template_kwargs: { enable_thinking: params.thinking },
  };
}
