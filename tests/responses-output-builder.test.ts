import { accumulateResponse } from 'openai/lib/responses/ResponseAccumulator';
import type { Response, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { describe, expect, it } from 'vitest';
import { ChatOutputParser } from '../src/api/output-parsers/chat-output.js';
import { ResponseOutputBuilder } from '../src/api/responses/response-output.js';

/**
 * The output items of a response built from model text, with the stream events that build them,
 * for texts the tiny model does not write by itself: reasoning followed by an answer, calls
 * between text. The events are replayed through the openai SDK's own accumulator (what
 * `responses.stream()` runs), which must arrive at the very items the whole response holds.
 */
function build(text: string, cuts: number[], options: { promptOpensReasoning?: boolean; parseToolCalls?: boolean } = {}) {
  const parser = new ChatOutputParser({ promptOpensReasoning: options.promptOpensReasoning ?? false, parseToolCalls: options.parseToolCalls ?? false });
  const builder = new ResponseOutputBuilder();
  const events = [];
  let from = 0;
  for (const cut of [...cuts, text.length]) {
    events.push(...builder.push(parser.push(text.slice(from, cut))));
    from = cut;
  }
  events.push(...builder.push(parser.finish()), ...builder.finish('completed'));
  return { items: builder.items, events };
}

/** The SDK's snapshot after response.created and the builder's events. */
function accumulated(events: ReturnType<typeof build>['events']): Response {
  const created = { id: 'resp_x', object: 'response', status: 'in_progress', output: [] } as unknown as Response;
  let snapshot = accumulateResponse({ type: 'response.created', sequence_number: 0, response: created });
  events.forEach((event, i) => {
    snapshot = accumulateResponse({ ...event, sequence_number: i + 1 } as unknown as ResponseStreamEvent, snapshot);
  });
  return snapshot;
}

const CALL = '<tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call>';

describe('ResponseOutputBuilder', () => {
  it('reasoning then an answer: a reasoning item, then a message; streamed in any cut, the SDK rebuilds the same items', () => {
    const text = '<think>plan it</think>\n\nThe answer.';
    const whole = build(text, []);
    expect(whole.items.map((item) => item.type)).toEqual(['reasoning', 'message']);
    expect(whole.items[0].type === 'reasoning' && whole.items[0].content[0].text).toBe('plan it');
    for (let cut = 1; cut < text.length; cut++) {
      const streamed = build(text, [cut]);
      expect(accumulated(streamed.events).output).toEqual(streamed.items);
      expect(streamed.items.map(({ id: _id, ...item }) => item)).toEqual(whole.items.map(({ id: _id, ...item }) => item));
    }
  });

  it('calls between text: whitespace around calls opens no message; text after a call opens a new one', () => {
    const text = `Let me check.\n${CALL}\n${CALL}\nDone.`;
    // The parser gives each piece's text before its calls, so text after a call starts a new
    // message only when it arrives in a later piece (here: cut right before it).
    const { items, events } = build(text, [5, 20, 40, text.length - 'Done.'.length], { parseToolCalls: true });
    expect(items.map((item) => item.type)).toEqual(['message', 'function_call', 'function_call', 'message']);
    expect(items[1].type === 'function_call' && JSON.parse(items[1].arguments)).toEqual({ x: 1 });
    expect(accumulated(events).output).toEqual(items);
    const whole = build(text, [], { parseToolCalls: true });
    expect(whole.items.map((item) => item.type)).toEqual(['message', 'function_call', 'function_call']);
    expect(whole.items[0].type === 'message' && whole.items[0].content[0].text).toBe('Let me check.\nDone.');
    const onlyCalls = build(`\n${CALL}\n`, [], { parseToolCalls: true });
    expect(onlyCalls.items.map((item) => item.type)).toEqual(['function_call']);
  });

  it('no text and no calls still gives one empty message, completed or cut at the limit', () => {
    const empty = build('', []);
    expect(empty.items).toEqual([{ type: 'message', id: expect.stringMatching(/^msg_/), status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: '', annotations: [], logprobs: [] }] }]);
    const builder = new ResponseOutputBuilder();
    builder.push({ reasoning: '', content: 'cut sh', calls: [] });
    builder.finish('incomplete');
    expect(builder.items[0].type === 'message' && builder.items[0].status).toBe('incomplete');
  });
});
