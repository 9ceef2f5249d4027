/**
 * A conversation as a chat template renders it. Templates are Jinja written for Hugging Face's
 * message dicts, so the field names are theirs (`tool_calls`, `reasoning_content`): these are the
 * variables the template reads, whatever API the conversation came from. Content is a string
 * because templates treat it as one (Qwen3's calls `content.startswith(...)`).
 */

/** A function call made by an assistant turn, as templates render it. */
export interface TemplateToolCall {
  id?: string;
  type?: string;
  function: { name: string; arguments: string | Record<string, unknown> };
}

export interface TemplateMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  tool_calls?: TemplateToolCall[];
  /** On a `tool` turn: which call this is the result of. */
  tool_call_id?: string;
  /** An assistant turn's reasoning, for templates that render it (Qwen3 drops earlier ones). */
  reasoning_content?: string;
}
