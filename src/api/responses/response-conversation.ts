import type { ChatMessageInput, ChatToolCall } from '../chat/chat-messages.js';
import type { ResponseCreateRequest, ResponseOutputItem } from '../schemas/responses.js';

/**
 * The Responses API's conversation in the chat API's messages, which the chat template renders:
 * input messages stay messages, a model's function calls become an assistant turn's tool_calls,
 * a call's output a `tool` message. Reasoning items are dropped: Qwen3's template renders no
 * thinking of earlier turns anyway.
 */
export function inputMessages(input: ResponseCreateRequest['input']): ChatMessageInput[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  const messages: ChatMessageInput[] = [];
  for (const item of input) {
    if (item.type === 'reasoning') continue;
    if (item.type === 'function_call') {
      appendToolCall(messages, { id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } });
    } else if (item.type === 'function_call_output') {
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: item.output });
    } else {
      const content = typeof item.content === 'string' ? item.content : item.content.map((part) => part.text).join('\n');
      messages.push({ role: item.role, content });
    }
  }
  return messages;
}

/** A response's output as the assistant turn that continues the conversation (previous_response_id). */
export function outputMessages(output: readonly ResponseOutputItem[]): ChatMessageInput[] {
  const messages: ChatMessageInput[] = [];
  for (const item of output) {
    if (item.type === 'message') {
      messages.push({ role: 'assistant', content: item.content.map((part) => part.text).join('') });
    } else if (item.type === 'function_call') {
      appendToolCall(messages, { id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } });
    }
  }
  return messages;
}

/**
 * Calls made in one turn belong to one assistant message: a call follows the assistant text or
 * calls just before it, and starts a new assistant turn after anything else.
 */
function appendToolCall(messages: ChatMessageInput[], call: ChatToolCall): void {
  const last = messages.at(-1);
  if (last?.role === 'assistant') {
    last.tool_calls = [...(last.tool_calls ?? []), call];
  } else {
    messages.push({ role: 'assistant', content: null, tool_calls: [call] });
  }
}
