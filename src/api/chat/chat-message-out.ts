import type { ChatOutputPiece } from '../output-parsers/chat-output.js';
import type { ParsedToolCall } from '../output-parsers/tool-call-parser.js';
import type { ChatCompletion, ChatCompletionChunk } from '../schemas/chat.js';

type Message = ChatCompletion['choices'][number]['message'];
type Delta = ChatCompletionChunk['choices'][number]['delta'];

/** A whole choice's parsed output as OpenAI's assistant message. */
export function assistantMessage(output: ChatOutputPiece, hasReasoning: boolean): Message {
  const calls = output.calls.length > 0;
  return {
    role: 'assistant',
    // OpenAI answers function calls with `content: null` unless the model also wrote text.
    content: calls && output.content.trim() === '' ? null : output.content,
    ...(hasReasoning ? { reasoning_content: output.reasoning } : {}),
    ...(calls ? { tool_calls: output.calls.map(toolCall) } : {}),
  };
}

function toolCall(call: ParsedToolCall) {
  return { id: call.id, type: 'function' as const, function: { name: call.name, arguments: call.arguments } };
}

/**
 * A streamed piece as chunk deltas, in order: reasoning, content, then per call a delta with its
 * index, id and name and one with its arguments (OpenAI's order: clients append argument text to
 * the call named first).
 */
export function streamDeltas(piece: ChatOutputPiece): Delta[] {
  const deltas: Delta[] = [];
  if (piece.reasoning !== '') deltas.push({ reasoning_content: piece.reasoning });
  if (piece.content !== '') deltas.push({ content: piece.content });
  for (const call of piece.calls) {
    deltas.push({ tool_calls: [{ index: call.index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] });
    deltas.push({ tool_calls: [{ index: call.index, function: { arguments: call.arguments } }] });
  }
  return deltas;
}
