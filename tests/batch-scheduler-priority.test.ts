import { describe, expect, it } from 'vitest';
import { Priority, resolveSchedulerConfig } from '../scheduler/index.js';
import { FakeEngine } from './scheduler-fake-engine.js';

/**
 * The scheduler's share of "interactive time to first token stays close to idle while a batch
 * runs": a step computes few batch prompt tokens (a step cannot be interrupted, so an arriving chat
 * waits at most one short step), and a step that prefills a chat prefills no batch prompt.
 */
describe('scheduler: batch jobs beside interactive prompts', () => {
  it('computes at most maxBatchPrefillTokens of batch prompts per step, over all of them; interactive prompts take maxPrefillChunk', () => {
    const engine = new FakeEngine({ maxSeqs: 4, maxLen: 512, maxNumBatchedTokens: 68, maxPrefillChunk: 64, maxBatchPrefillTokens: 8 });
    engine.submit('contract-a', { promptLength: 12, maxTokens: 2, priority: Priority.batch });
    engine.submit('contract-b', { promptLength: 40, maxTokens: 2, priority: Priority.batch });
    expect(engine.step().prefill).toEqual([{ id: 'contract-a', start: 0, length: 8, samples: false }]);
    // a's last 4 tokens, then b takes the rest of the step's share.
    expect(engine.step().prefill).toEqual([
      { id: 'contract-a', start: 8, length: 4, samples: true },
      { id: 'contract-b', start: 0, length: 4, samples: false },
    ]);
    engine.submit('chat', { promptLength: 100, maxTokens: 2 });
    expect(engine.step().prefill).toEqual([{ id: 'chat', start: 0, length: 64, samples: false }]);
    engine.runToIdle();
    for (const [id, expected] of engine.expected) expect(engine.results.get(id), id).toMatchObject(expected);
  });

  it('a step that prefills a chat prefills no batch prompt and holds batch decodes back; then decodes and batch chunks alternate', () => {
    const engine = new FakeEngine({ maxSeqs: 4, maxLen: 512, maxNumBatchedTokens: 68, maxPrefillChunk: 64 });
    engine.submit('decoding', { promptLength: 8, maxTokens: 50, priority: Priority.batch });
    engine.step();
    engine.submit('contract', { promptLength: 200, maxTokens: 4, priority: Priority.batch });
    // A batch chunk takes a step of its own (default share: 16 tokens).
    const contractStep = engine.step();
    expect(contractStep.prefill).toEqual([{ id: 'contract', start: 0, length: 16, samples: false }]);
    expect(contractStep.decode).toEqual([]);
    engine.submit('chat', { promptLength: 30, maxTokens: 4 });
    const withChat = engine.step();
    expect(withChat.prefill.map((chunk) => chunk.id)).toEqual(['chat']);
    expect(withChat.decode).toEqual([]);
    // Decodes held back get the next step whole; then the batch prompt's next chunk.
    const decodes = engine.step();
    expect(decodes.decode.map((entry) => entry.id).sort()).toEqual(['chat', 'decoding']);
    expect(decodes.prefill).toEqual([]);
    const chunk = engine.step();
    expect(chunk.prefill).toEqual([{ id: 'contract', start: 16, length: 16, samples: false }]);
    expect(chunk.decode).toEqual([]);
    expect(engine.step().decode.map((entry) => entry.id).sort()).toEqual(['chat', 'decoding']);
    engine.runToIdle();
    // Every request ends with the tokens it would have produced alone.
    for (const [id, expected] of engine.expected) expect(engine.results.get(id), id).toMatchObject(expected);
  });

  it('checks maxBatchPrefillTokens like the other sizes and defaults it to min(16, maxPrefillChunk)', () => {
    expect(resolveSchedulerConfig({ maxSeqs: 2, maxLen: 64 }).maxBatchPrefillTokens).toBe(16);
    expect(resolveSchedulerConfig({ maxSeqs: 2, maxLen: 64, maxPrefillChunk: 8 }).maxBatchPrefillTokens).toBe(8);
    expect(() => resolveSchedulerConfig({ maxSeqs: 2, maxLen: 64, maxBatchPrefillTokens: 0 })).toThrow(RangeError);
  });
});
