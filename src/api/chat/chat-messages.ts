import { invalidParam } from '../../errors.js';
import type { TemplateMessage } from '../../model/tokenizer/template-message.js';

/**
 * Chat messages as the OpenAI API carries them, and their conversion to the messages a chat
 * template renders (TemplateMessage): roles are checked and aliased, and content arrays and
 * nulls are flattened to the string content templates expect.
 */

/** One element of an OpenAI content array. Only text parts can be given to a text-only model. */
export interface ChatContentPart {
  type: string;
  text?: string;
}

/** An assistant turn's function call as OpenAI sends it; templates take the same shape. */
export interface ChatToolCall {
  id?: string;
  type?: string;
  function: { name: string; arguments: string | Record<string, unknown> };
}

/** A message as received: OpenAI's chat message object, with vLLM's `reasoning_content` extra. */
export interface ChatMessageInput {
  role: string;
  content?: string | ChatContentPart[] | null;
  name?: string;
  tool_calls?: ChatToolCall[] | null;
  tool_call_id?: string;
  reasoning_content?: string | null;
}

/**
 * OpenAI's newer `developer` role is the system prompt under another name; the Qwen3 template
 * only renders `system`, and would silently drop a `developer` message.
 */
const ROLE_ALIASES: Record<string, TemplateMessage['role']> = {
  system: 'system',
  developer: 'system',
  user: 'user',
  assistant: 'assistant',
  tool: 'tool',
};

/**
 * Text parts are joined with a newline, as vLLM does for string-format templates, so the same
 * request renders the same prompt on both servers.
 */
const TEXT_PART_SEPARATOR = '\n';

function normaliseContent(content: ChatMessageInput['content'], param: string): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalidParam(param, `${param} must be a string or an array of content parts`);
  return content
    .map((part, j) => {
      if (part === null || typeof part !== 'object') {
        throw invalidParam(`${param}.${j}`, `${param}.${j} must be a content part object`);
      }
      if (part.type !== 'text') {
        throw invalidParam(
          `${param}.${j}.type`,
          `content part type '${String(part.type)}' is not supported by this text-only model; use 'text'`,
        );
      }
      if (typeof part.text !== 'string') throw invalidParam(`${param}.${j}.text`, `${param}.${j}.text must be a string`);
      return part.text;
    })
    .join(TEXT_PART_SEPARATOR);
}

/** Checks roles and flattens content; errors name the offending field (`messages.2.content`). */
export function normaliseChatMessages(messages: readonly ChatMessageInput[]): TemplateMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw invalidParam('messages', 'messages must be a non-empty array');
  }
  return messages.map((message, i) => {
    if (message === null || typeof message !== 'object') {
      throw invalidParam(`messages.${i}`, `messages.${i} must be a message object`);
    }
    const role = ROLE_ALIASES[message.role];
    if (role === undefined) {
      throw invalidParam(
        `messages.${i}.role`,
        `role '${String(message.role)}' is not one of system, developer, user, assistant, tool`,
      );
    }
    const normalised: TemplateMessage = { role, content: normaliseContent(message.content, `messages.${i}.content`) };
    if (message.tool_calls) normalised.tool_calls = message.tool_calls;
    if (message.tool_call_id !== undefined) normalised.tool_call_id = message.tool_call_id;
    if (typeof message.reasoning_content === 'string') normalised.reasoning_content = message.reasoning_content;
    return normalised;
  });
}
