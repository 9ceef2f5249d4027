import { describe, expect, it } from 'vitest';
import { ChatOutputParser, type ChatOutputPiece } from '../src/api/output-parsers/chat-output.js';
import { ReasoningParser, reasoningTokenCount } from '../src/api/output-parsers/reasoning-parser.js';

/** Feeds `text` in pieces cut at `cuts` and joins what comes out, as a stream would. */
function streamed(text: string, cuts: number[], options: { promptOpensReasoning?: boolean; parseToolCalls?: boolean } = {}) {
  const parser = new ChatOutputParser({ promptOpensReasoning: options.promptOpensReasoning ?? false, parseToolCalls: options.parseToolCalls ?? false });
  const whole: ChatOutputPiece = { reasoning: '', content: '', calls: [] };
  let from = 0;
  for (const cut of [...cuts, text.length]) {
    const piece = parser.push(text.slice(from, cut));
    from = cut;
    whole.reasoning += piece.reasoning;
    whole.content += piece.content;
    whole.calls.push(...piece.calls);
  }
  const last = parser.finish();
  return { reasoning: whole.reasoning + last.reasoning, content: whole.content + last.content, calls: [...whole.calls, ...last.calls].map(({ name, arguments: a }) => ({ name, arguments: a })), hasReasoning: parser.hasReasoning };
}

/** The same text cut at every single position, and not cut at all, must parse alike. */
function everySplit(text: string, options?: Parameters<typeof streamed>[2]) {
  const expected = streamed(text, [], options);
  for (let i = 1; i < text.length; i++) expect(streamed(text, [i], options), `cut at ${i}`).toEqual(expected);
  expect(streamed(text, Array.from({ length: text.length - 1 }, (_, i) => i + 1), options)).toEqual(expected);
  return expected;
}

describe('the reasoning parser (vLLM qwen3 semantics)', () => {
  it('splits a think block from the answer, dropping the blank lines between them', () => {
    expect(everySplit('<think>\nLet me see.\n</think>\n\nThe answer is 4.')).toEqual({ reasoning: '\nLet me see.\n', content: 'The answer is 4.', calls: [], hasReasoning: true });
  });

  it('an answer without a think block is all content, tags in its middle included', () => {
    expect(everySplit('Plain answer with </think> and <think> inside')).toEqual({ reasoning: '', content: 'Plain answer with </think> and <think> inside', calls: [], hasReasoning: false });
  });

  it('an output cut off while thinking is all reasoning and an empty answer', () => {
    expect(everySplit('<think>still thinking')).toEqual({ reasoning: 'still thinking', content: '', calls: [], hasReasoning: true });
  });

  it('a prompt that opened the block makes the output reasoning up to </think>', () => {
    expect(everySplit('thought</think>\n\nanswer', { promptOpensReasoning: true })).toEqual({ reasoning: 'thought', content: 'answer', calls: [], hasReasoning: true });
  });

  it('counts reasoning tokens up to and including </think>', () => {
    const parser = new ReasoningParser();
    parser.push('<think>x</think>y');
    expect(reasoningTokenCount([151667, 10, 151668, 11, 12], parser, 151668)).toBe(3);
    expect(reasoningTokenCount([1, 2], new ReasoningParser(), 151668)).toBe(0);
  });
});

describe('the tool-call parser (hermes blocks)', () => {
  const call = '<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>';

  it('finds calls after reasoning and text, at every split', () => {
    expect(everySplit(`<think>hm</think>\n\nLet me call.${call}\n${call}`, { parseToolCalls: true })).toEqual({
      reasoning: 'hm',
      content: 'Let me call.',
      calls: [
        { name: 'f', arguments: '{"a":1}' },
        { name: 'f', arguments: '{"a":1}' },
      ],
      hasReasoning: true,
    });
  });

  it('keeps a block that is not a call, and an unclosed one, as content', () => {
    expect(everySplit('<tool_call>not json</tool_call>', { parseToolCalls: true }).content).toBe('<tool_call>not json</tool_call>');
    expect(everySplit('<tool_call>{"name": "f"', { parseToolCalls: true }).content).toBe('<tool_call>{"name": "f"');
  });
});
