import { randomUUID } from 'node:crypto';
import type { ChatOutputPiece } from '../output-parsers/chat-output.js';
import type { ResponseOutputItem } from '../schemas/responses.js';

/** A stream event before the route stamps its sequence_number. */
export type ResponseEventBody = { type: string } & Record<string, unknown>;

type MessageItem = Extract<ResponseOutputItem, { type: 'message' }>;
type ReasoningItem = Extract<ResponseOutputItem, { type: 'reasoning' }>;

/** The item the model is writing into now; function calls arrive whole, so they are never open. */
type OpenItem = { item: MessageItem; index: number } | { item: ReasoningItem; index: number };

/** OpenAI-looking item ids: a prefix saying the item's kind and 24 hex digits. */
export function itemId(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

/**
 * A response's output items built from one choice's parsed output (ChatOutputParser pieces),
 * with the stream events that build them: the same code makes the whole response and the
 * streamed one, so both hold the same items.
 *
 * Items follow the text in its order: reasoning (`<think>`) becomes a reasoning item, answer
 * text a message item with one output_text part, each `<tool_call>` a function_call item.
 * Whitespace-only answer text opens no message (it sits between calls, or after the reasoning
 * before a call); it is kept and put in front of the next text that opens one. A response with
 * neither text nor calls still gets one (empty) message, as OpenAI's always has an answer.
 * Within one piece the parser gives text before calls, so text the model writes after a call
 * opens a second message only when it arrives in a later piece (streamed); the whole response,
 * parsed in one piece, keeps all its text in one message before the calls.
 */
export class ResponseOutputBuilder {
  readonly items: ResponseOutputItem[] = [];
  private open: OpenItem | null = null;
  private pendingWhitespace = '';
  private calls = 0;

  push(piece: ChatOutputPiece): ResponseEventBody[] {
    const events: ResponseEventBody[] = [];
    if (piece.reasoning !== '') events.push(...this.reasoningText(piece.reasoning));
    if (piece.content !== '') events.push(...this.answerText(piece.content));
    for (const call of piece.calls) {
      events.push(...this.close('completed'));
      this.pendingWhitespace = '';
      const item: ResponseOutputItem = { type: 'function_call', id: itemId('fc'), call_id: call.id, name: call.name, arguments: '', status: 'in_progress' };
      const index = this.items.push(item) - 1;
      this.calls++;
      events.push({ type: 'response.output_item.added', output_index: index, item: { ...item } });
      events.push({ type: 'response.function_call_arguments.delta', item_id: item.id, output_index: index, delta: call.arguments });
      item.arguments = call.arguments;
      item.status = 'completed';
      events.push({ type: 'response.function_call_arguments.done', item_id: item.id, output_index: index, name: call.name, arguments: call.arguments });
      events.push({ type: 'response.output_item.done', output_index: index, item: { ...item } });
    }
    return events;
  }

  /** Closes the item being written; `status` is the response's (an answer cut at its limit is incomplete). */
  finish(status: 'completed' | 'incomplete'): ResponseEventBody[] {
    const events: ResponseEventBody[] = [];
    if (this.calls === 0 && !this.items.some((item) => item.type === 'message')) {
      events.push(...this.openMessage());
    }
    events.push(...this.close(status));
    return events;
  }

  private reasoningText(text: string): ResponseEventBody[] {
    const events: ResponseEventBody[] = [];
    if (this.open?.item.type !== 'reasoning') {
      events.push(...this.close('completed'));
      const item: ReasoningItem = { type: 'reasoning', id: itemId('rs'), summary: [], content: [] };
      const index = this.items.push(item) - 1;
      this.open = { item, index };
      events.push({ type: 'response.output_item.added', output_index: index, item: structuredClone(item) });
      item.content.push({ type: 'reasoning_text', text: '' });
      events.push({ type: 'response.content_part.added', item_id: item.id, output_index: index, content_index: 0, part: { type: 'reasoning_text', text: '' } });
    }
    const { item, index } = this.open as { item: ReasoningItem; index: number };
    item.content[0].text += text;
    events.push({ type: 'response.reasoning_text.delta', item_id: item.id, output_index: index, content_index: 0, delta: text });
    return events;
  }

  private answerText(text: string): ResponseEventBody[] {
    if (this.open?.item.type !== 'message') {
      if (text.trim() === '') {
        this.pendingWhitespace += text;
        return [];
      }
      return [...this.close('completed'), ...this.openMessage(), ...this.messageDelta(text)];
    }
    return this.messageDelta(text);
  }

  private openMessage(): ResponseEventBody[] {
    const events = this.close('completed');
    const item: MessageItem = { type: 'message', id: itemId('msg'), status: 'in_progress', role: 'assistant', content: [] };
    const index = this.items.push(item) - 1;
    this.open = { item, index };
    events.push({ type: 'response.output_item.added', output_index: index, item: structuredClone(item) });
    item.content.push({ type: 'output_text', text: '', annotations: [], logprobs: [] });
    events.push({ type: 'response.content_part.added', item_id: item.id, output_index: index, content_index: 0, part: structuredClone(item.content[0]) });
    const pending = this.pendingWhitespace;
    this.pendingWhitespace = '';
    if (pending !== '') events.push(...this.messageDelta(pending));
    return events;
  }

  private messageDelta(text: string): ResponseEventBody[] {
    const { item, index } = this.open as { item: MessageItem; index: number };
    item.content[0].text += text;
    return [{ type: 'response.output_text.delta', item_id: item.id, output_index: index, content_index: 0, delta: text, logprobs: [] }];
  }

  private close(status: 'completed' | 'incomplete'): ResponseEventBody[] {
    const open = this.open;
    if (!open) return [];
    this.open = null;
    const base = { item_id: open.item.id, output_index: open.index, content_index: 0 };
    if (open.item.type === 'reasoning') {
      const part = open.item.content[0];
      return [
        { type: 'response.reasoning_text.done', ...base, text: part.text },
        { type: 'response.content_part.done', ...base, part: { ...part } },
        { type: 'response.output_item.done', output_index: open.index, item: structuredClone(open.item) },
      ];
    }
    open.item.status = status;
    const part = open.item.content[0];
    return [
      { type: 'response.output_text.done', ...base, text: part.text, logprobs: [] },
      { type: 'response.content_part.done', ...base, part: structuredClone(part) },
      { type: 'response.output_item.done', output_index: open.index, item: structuredClone(open.item) },
    ];
  }
}
