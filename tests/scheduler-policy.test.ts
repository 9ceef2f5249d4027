import { describe, expect, it } from 'vitest';
import { ContextLengthExceededError, Priority, Scheduler, SchedulerError } from '../scheduler/index.js';
import { FakeEngine } from './scheduler-fake-engine.js';

/** Ids in the order they were admitted over the whole run. */
function admissionOrder(engine: FakeEngine): string[] {
  return engine.outputs.flatMap((output) => output.admitted);
}

function expectAllAsGeneratedAlone(engine: FakeEngine): void {
  expect(engine.results.size).toBe(engine.expected.size);
  for (const [id, expected] of engine.expected) {
    expect(engine.results.get(id), id).toMatchObject(expected);
  }
}

describe('scheduler policy', () => {
  it('keeps every step within the token budget and computes every token exactly once', () => {
    const engine = new FakeEngine({ maxSeqs: 4, maxLen: 512, maxNumBatchedTokens: 40, maxPrefillChunk: 32 });
    for (let i = 0; i < 10; i++) engine.submit(`r${i}`, { promptLength: 20 + 17 * i, maxTokens: 5 + i });
    engine.runToIdle();
    for (const output of engine.outputs) {
      expect(output.numScheduledTokens).toBeLessThanOrEqual(40);
      expect(output.numScheduledTokens).toBe(output.numDecodeTokens + output.numPrefillTokens);
      for (const chunk of output.prefill) expect(chunk.length).toBeLessThanOrEqual(32);
    }
    // No preemption here, so computed tokens are prompt + generated - 1 per request (the last
    // sampled token never needs computing).
    const computed = engine.outputs.reduce((sum, output) => sum + output.numScheduledTokens, 0);
    const expectedComputed = [...engine.expected.values()].reduce((sum, e) => sum + e.tokens.length - 1, 0);
    expect(computed).toBe(expectedComputed);
    expectAllAsGeneratedAlone(engine);
  });

  it('admits FCFS within a priority class and higher priority first', () => {
    const engine = new FakeEngine({ maxSeqs: 1, maxLen: 64, priorityPreemption: false });
    engine.submit('batch-1', { promptLength: 4, maxTokens: 3, priority: Priority.batch });
    engine.step();
    engine.submit('batch-2', { promptLength: 4, maxTokens: 3, priority: Priority.batch });
    engine.submit('batch-3', { promptLength: 4, maxTokens: 3, priority: Priority.batch });
    engine.submit('chat-1', { promptLength: 4, maxTokens: 3, priority: Priority.interactive });
    engine.submit('chat-2', { promptLength: 4, maxTokens: 3, priority: Priority.interactive });
    engine.runToIdle();
    expect(admissionOrder(engine)).toEqual(['batch-1', 'chat-1', 'chat-2', 'batch-2', 'batch-3']);
  });

  it('prefills a long prompt in chunks while running requests keep decoding every step', () => {
    const engine = new FakeEngine({ maxSeqs: 4, maxLen: 1024, maxNumBatchedTokens: 68, maxPrefillChunk: 64 });
    engine.submit('stream', { promptLength: 8, maxTokens: 100 });
    engine.step();
    engine.step();
    engine.submit('long', { promptLength: 200, maxTokens: 4 });
    const chunks = [];
    for (let i = 0; i < 4; i++) {
      const output = engine.step();
      expect(output.decode.map((d) => d.id)).toEqual(['stream']);
      chunks.push(...output.prefill);
    }
    expect(chunks).toEqual([
      { id: 'long', start: 0, length: 64, samples: false },
      { id: 'long', start: 64, length: 64, samples: false },
      { id: 'long', start: 128, length: 64, samples: false },
      { id: 'long', start: 192, length: 8, samples: true },
    ]);
    // Its first token sampled, 'long' decodes alongside 'stream' in one batched call.
    expect(engine.step().decode.map((d) => d.id).sort()).toEqual(['long', 'stream']);
  });

  it('runs each prefill chunk as its own batch-size-1 call and decodes as one call', () => {
    const engine = new FakeEngine({ maxSeqs: 4, maxLen: 512, maxNumBatchedTokens: 4 + 96, maxPrefillChunk: 48 });
    engine.submit('a', { promptLength: 100, maxTokens: 6 });
    engine.submit('b', { promptLength: 100, maxTokens: 6 });
    const first = engine.step();
    expect(first.prefill).toEqual([
      { id: 'a', start: 0, length: 48, samples: false },
      { id: 'b', start: 0, length: 48, samples: false },
    ]);
    engine.runToIdle();
    let calls = 0;
    for (const output of engine.outputs) {
      const ids = [...output.decode.map((d) => d.id), ...output.prefill.map((c) => c.id)];
      expect(new Set(ids).size).toBe(ids.length);
      calls += output.prefill.length + (output.decode.length > 0 ? 1 : 0);
    }
    expect(engine.runner.prefillCalls + engine.runner.decodeCalls).toBe(calls);
    expectAllAsGeneratedAlone(engine);
  });

  it('admits only when a row is free', () => {
    const engine = new FakeEngine({ maxSeqs: 2, maxLen: 64 });
    engine.submit('a', { promptLength: 4, maxTokens: 2 });
    engine.submit('b', { promptLength: 4, maxTokens: 10 });
    engine.submit('c', { promptLength: 4, maxTokens: 3 });
    expect(engine.step().admitted).toEqual(['a', 'b']);
    expect(engine.scheduler.stats()).toMatchObject({ numRunning: 2, numWaiting: 1 });
    engine.step();
    const third = engine.step();
    // 'a' finished by length in the previous update; its row goes to 'c' in the same output.
    expect(third.finished).toEqual([{ id: 'a', reason: 'length' }]);
    expect(third.admitted).toEqual(['c']);
  });

  it('admits only when the whole sequence fits the KV token budget, never overtaking the head', () => {
    const engine = new FakeEngine({ maxSeqs: 4, maxLen: 100, kvTokenBudget: 100, maxNumBatchedTokens: 128 });
    engine.submit('a', { promptLength: 40, maxTokens: 2 });
    engine.submit('b', { promptLength: 40, maxTokens: 8 });
    engine.submit('big', { promptLength: 40, maxTokens: 2 });
    engine.submit('small', { promptLength: 2, maxTokens: 2 });
    expect(engine.step().admitted).toEqual(['a', 'b']);
    // Both prompts computed and one token sampled each.
    expect(engine.scheduler.stats().kvTokensReserved).toBe(82);
    // 18 tokens are free: 'small' would fit, but 'big' is ahead of it in the queue.
    expect(engine.step().admitted).toEqual([]);
    expect(engine.step().admitted).toEqual(['big', 'small']);
    engine.runToIdle();
    expect(admissionOrder(engine)).toEqual(['a', 'b', 'big', 'small']);
    expectAllAsGeneratedAlone(engine);
  });

  it('rejects at add() a prompt that can never fit, with a typed error, recording nothing', () => {
    const scheduler = new Scheduler({ maxSeqs: 2, maxLen: 64, kvTokenBudget: 50 });
    expect(scheduler.config.contextLimit).toBe(50);
    let error: unknown;
    try {
      scheduler.add({ id: 'x', promptLength: 50, maxTokens: 1 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ContextLengthExceededError);
    expect(error).toBeInstanceOf(SchedulerError);
    expect(error).toMatchObject({ code: 'context_length_exceeded', promptLength: 50, contextLimit: 50 });
    expect(scheduler.hasWork()).toBe(false);
    expect(scheduler.get('x')).toBeUndefined();
    expect(scheduler.add({ id: 'x', promptLength: 49, maxTokens: 1 }).status).toBe('waiting');
    expect(() => scheduler.add({ id: 'x', promptLength: 1, maxTokens: 1 })).toThrow(
      expect.objectContaining({ code: 'invalid_request', message: expect.stringMatching(/duplicate/) }),
    );
    expect(() => scheduler.add({ id: 'y', promptLength: 0, maxTokens: 1 })).toThrow(/promptLength/);
    expect(() => scheduler.add({ id: 'y', promptLength: 1, maxTokens: 0 })).toThrow(/maxTokens/);
  });

  it('ends by length at maxTokens or at the context limit, and stop beats length', () => {
    const engine = new FakeEngine({ maxSeqs: 4, maxLen: 20 });
    engine.submit('max-tokens', { promptLength: 5, maxTokens: 3 });
    engine.submit('context', { promptLength: 15, maxTokens: 100 });
    engine.submit('stop-at-last', { promptLength: 5, maxTokens: 3, stopAfter: 3 });
    engine.runToIdle();
    expect(engine.results.get('max-tokens')).toMatchObject({ reason: 'length', generated: 3 });
    expect(engine.results.get('context')).toMatchObject({ reason: 'length', generated: 5 });
    expect(engine.results.get('context')!.tokens).toHaveLength(20);
    expect(engine.results.get('stop-at-last')).toMatchObject({ reason: 'stop', generated: 3 });
    expect(engine.scheduler.stats().finishedTotal).toEqual({ stop: 1, length: 2, abort: 0, error: 0 });
  });

  it('refuses out-of-order calls without changing state', () => {
    const scheduler = new Scheduler({ maxSeqs: 2, maxLen: 64 });
    scheduler.add({ id: 'a', promptLength: 4, maxTokens: 4 });
    const output = scheduler.schedule();
    expect(() => scheduler.schedule()).toThrow(/before update/);
    expect(() => scheduler.update({ ...output, step: output.step + 1 })).toThrow(/in flight/);
    expect(() => scheduler.update(output, { stopped: ['nobody'] })).toThrow(/sampled nothing/);
    expect(scheduler.get('a')?.numComputedTokens).toBe(0);
    scheduler.update(output, { stopped: ['a'] });
    expect(scheduler.get('a')).toMatchObject({ status: 'finished', finishReason: 'stop', numGeneratedTokens: 1 });
  });

  it('does not keep an interactive admission behind a batch job in chunked prefill', () => {
    const engine = new FakeEngine({ maxSeqs: 4, maxLen: 2048, maxNumBatchedTokens: 68, maxPrefillChunk: 64 });
    engine.submit('contracts', { promptLength: 1500, maxTokens: 4, priority: Priority.batch });
    engine.step();
    engine.submit('chat', { promptLength: 30, maxTokens: 4, priority: Priority.interactive });
    const next = engine.step();
    expect(next.prefill[0]).toEqual({ id: 'chat', start: 0, length: 30, samples: true });
    // The chat's step prefills nothing of lower priority (it would lengthen the step that gives
    // the chat its first token); the batch job goes on in the next step, in batch-sized chunks.
    expect(next.prefill).toHaveLength(1);
    expect(engine.step().prefill).toEqual([{ id: 'contracts', start: 16, length: 16, samples: false }]);
  });

  it('keeps batch work flowing under light interactive load', () => {
    const engine = new FakeEngine({ maxSeqs: 4, maxLen: 256, maxNumBatchedTokens: 4 + 64 });
    for (let i = 0; i < 12; i++) engine.submit(`batch-${i}`, { promptLength: 40, maxTokens: 12, priority: Priority.batch });
    let chats = 0;
    for (let step = 0; engine.scheduler.hasWork() || chats < 30; step++) {
      expect(step).toBeLessThan(400);
      // One short chat every 6 steps: each preempts a batch job for a row, never all of them.
      const chat = step % 6 === 0 && chats < 30 ? `chat-${chats++}` : undefined;
      if (chat !== undefined) engine.submit(chat, { promptLength: 10, maxTokens: 3 });
      const output = engine.step();
      if (chat !== undefined) expect(output.admitted).toContain(chat);
    }
    expect(chats).toBe(30);
    expect(engine.scheduler.stats().priorityPreemptionsTotal).toBeGreaterThan(0);
    expectAllAsGeneratedAlone(engine);
    // FCFS within the batch class still holds for first admissions.
    const firstAdmissions = [...new Set(admissionOrder(engine).filter((id) => id.startsWith('batch')))];
    expect(firstAdmissions).toEqual(Array.from({ length: 12 }, (_, i) => `batch-${i}`));
  });
});
