import { describe, expect, it } from 'vitest';
import { planDocumentSummary, promptBudgetChars, splitText, type SummaryProgress } from '../src/ui/documents/map-reduce-summary.js';
import { sumByName } from '../src/ui/web/status/prometheus-text.js';
import { splitReasoning } from '../src/ui/web/render/reasoning-split.js';

/** The page's text logic that needs no browser: reasoning split, document parts, map-reduce rounds, the status panel's metric parsing. */

describe('splitReasoning', () => {
  it("separates Qwen3's <think> block from the answer, while open and once closed", () => {
    expect(splitReasoning('<think>\nLet me see')).toEqual({ reasoning: 'Let me see', answer: '', thinking: true });
    expect(splitReasoning('<think>\nWeigh it.\n</think>\n\nThe **answer**.')).toEqual({ reasoning: 'Weigh it.', answer: 'The **answer**.', thinking: false });
    // Thinking off: Qwen3's template leaves an empty block.
    expect(splitReasoning('<think>\n\n</think>\n\nHi')).toEqual({ reasoning: '', answer: 'Hi', thinking: false });
  });

  it('treats text before a lone </think> as reasoning, holds back a partial tag, and leaves plain answers alone', () => {
    expect(splitReasoning('planning...</think>Done')).toEqual({ reasoning: 'planning...', answer: 'Done', thinking: false });
    expect(splitReasoning('<thi')).toEqual({ reasoning: '', answer: '', thinking: true });
    expect(splitReasoning('Use <b> tags')).toEqual({ reasoning: '', answer: 'Use <b> tags', thinking: false });
  });
});

describe('splitText', () => {
  it('packs paragraphs into parts no longer than the limit, cutting finer only where needed', () => {
    const paragraphs = Array.from({ length: 10 }, (_, i) => `Paragraph ${i}. ${'word '.repeat(20).trim()}.`);
    const parts = splitText(paragraphs.join('\n\n'), 250);
    expect(parts.every((part) => part.length <= 250)).toBe(true);
    expect(parts.length).toBeLessThan(paragraphs.length);
    expect(parts.join('\n').replace(/\s+/g, ' ')).toBe(paragraphs.join(' ').replace(/\s+/g, ' '));
    expect(splitText('x'.repeat(25), 10)).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
  });
});

describe('planDocumentSummary', () => {
  it('puts a short document into one prompt without any call', async () => {
    const plan = await planDocumentSummary('memo.txt', 'Short memo.', { contextTokens: 4096, answerTokens: 256, instruction: 'Summarise.', complete: () => Promise.reject(new Error('no call expected')) });
    expect(plan).toEqual({ finalPrompt: 'Summarise.\n\n--- memo.txt ---\nShort memo.', parts: 1 });
  });

  it('maps the parts of a long document, reduces in rounds until the summaries fit, and reports progress', async () => {
    const text = Array.from({ length: 400 }, (_, i) => `Clause ${i}: the supplier ships lot ${i}.`).join('\n');
    const prompts: string[] = [];
    const progress: SummaryProgress[] = [];
    // Each answer is as long as a part summary may be, so that one reduce round is not enough.
    const plan = await planDocumentSummary('long.txt', text, {
      contextTokens: 512,
      answerTokens: 100,
      instruction: 'List the obligations.',
      complete: async (prompt, maxTokens) => {
        prompts.push(prompt);
        expect(maxTokens).toBe(100);
        return `summary ${prompts.length} `.padEnd(150, '.');
      },
      onProgress: (p) => progress.push(p),
    });
    const budget = promptBudgetChars(512, 100, 400);
    const maps = prompts.filter((p) => p.startsWith('This is part'));
    expect(plan.parts).toBe(maps.length);
    expect(maps.length).toBeGreaterThan(10);
    expect(maps.every((p) => p.length <= budget + 400)).toBe(true);
    expect(prompts.length).toBeGreaterThan(maps.length);
    expect(new Set(progress.map((p) => p.round)).size).toBeGreaterThan(2);
    expect(progress.at(0)).toEqual({ phase: 'map', done: 0, total: maps.length, round: 1 });
    expect(plan.finalPrompt).toMatch(/^List the obligations\.\n\nThe document "long\.txt" was too long/);
    expect(plan.finalPrompt.length).toBeLessThanOrEqual(promptBudgetChars(512, 100));
  });

  it('stops with a clear error when the part summaries cannot shrink', async () => {
    const text = 'word '.repeat(3000);
    await expect(
      planDocumentSummary('x.txt', text, { contextTokens: 600, answerTokens: 150, instruction: 'S.', complete: async () => 'y'.repeat(900) }),
    ).rejects.toThrow(/too long to combine within the model's context \(600 tokens\): lower max_tokens/);
  });
});

describe('sumByName', () => {
  it("sums a metric's series, skipping comments and histogram buckets", () => {
    const text = [
      '# HELP vllm:num_requests_running Requests running.',
      'vllm:num_requests_running{model_name="a b"} 2',
      'vllm:num_requests_running{model_name="c"} 1',
      'vllm:e2e_request_latency_seconds_bucket{le="1"} 4',
      'qwen3_serve_process_resident_memory_bytes 1048576',
    ].join('\n');
    const sums = sumByName(text);
    expect(sums.get('vllm:num_requests_running')).toBe(3);
    expect(sums.has('vllm:e2e_request_latency_seconds_bucket')).toBe(false);
    expect(sums.get('qwen3_serve_process_resident_memory_bytes')).toBe(1048576);
  });
});
