import { describe, expect, it } from 'vitest';
import { Priority } from '../scheduler/index.js';
import { FakeEngine } from './scheduler-fake-engine.js';

function preemptionOrder(engine: FakeEngine): string[] {
  return engine.outputs.flatMap((output) => output.preempted);
}

function expectAllAsGeneratedAlone(engine: FakeEngine): void {
  expect(engine.results.size).toBe(engine.expected.size);
  for (const [id, expected] of engine.expected) {
    expect(engine.results.get(id), id).toMatchObject(expected);
  }
}

describe('preemption for KV growth', () => {
  it('preempts the newest request and recomputes it later to the same tokens', () => {
    const engine = new FakeEngine({ maxSeqs: 3, maxLen: 64, kvTokenBudget: 60, maxNumBatchedTokens: 3 + 64 });
    for (const id of ['a', 'b', 'c']) engine.submit(id, { promptLength: 10, maxTokens: 40 });
    while (engine.step().preempted.length === 0);
    expect(preemptionOrder(engine)).toEqual(['c']);
    const preempted = engine.scheduler.get('c')!;
    expect(preempted).toMatchObject({ status: 'preempted', numComputedTokens: 0, numPreemptions: 1 });
    expect(preempted.numGeneratedTokens).toBeGreaterThan(0);

    // When readmitted, its first chunk recomputes prompt and generated tokens together.
    let readmission;
    while (readmission === undefined) {
      readmission = engine.step().prefill.find((chunk) => chunk.id === 'c');
    }
    expect(readmission).toEqual({ id: 'c', start: 0, length: preempted.numTokens, samples: true });
    engine.runToIdle();
    expectAllAsGeneratedAlone(engine);
    expect(engine.scheduler.stats()).toMatchObject({ numRunning: 0, numWaiting: 0, kvTokensReserved: 0 });
  });

  it('takes victims lowest priority first, newest first within a priority', () => {
    const engine = new FakeEngine({ maxSeqs: 4, maxLen: 64, kvTokenBudget: 48, maxNumBatchedTokens: 4 + 64 });
    engine.submit('chat-old', { promptLength: 10, maxTokens: 30, priority: Priority.interactive });
    engine.submit('batch-old', { promptLength: 10, maxTokens: 30, priority: Priority.batch });
    engine.submit('batch-new', { promptLength: 10, maxTokens: 30, priority: Priority.batch });
    engine.submit('chat-new', { promptLength: 10, maxTokens: 30, priority: Priority.interactive });
    engine.runToIdle();
    expect(preemptionOrder(engine).slice(0, 3)).toEqual(['batch-new', 'batch-old', 'chat-new']);
    // The best-ranked request is never a victim of KV growth: that is what rules out livelock.
    expect(preemptionOrder(engine)).not.toContain('chat-old');
    expectAllAsGeneratedAlone(engine);
  });

  it('cannot livelock: requests that each need most of the KV budget all finish', () => {
    const engine = new FakeEngine({ maxSeqs: 4, maxLen: 100, kvTokenBudget: 100, maxNumBatchedTokens: 4 + 32, maxPrefillChunk: 32 });
    for (let i = 0; i < 8; i++) {
      engine.submit(`r${i}`, { promptLength: 20 + 3 * i, maxTokens: 60, priority: i % 2 === 0 ? Priority.batch : Priority.interactive });
    }
    const steps = engine.runToIdle(2_000);
    expect(engine.scheduler.stats().preemptionsTotal).toBeGreaterThan(3);
    expectAllAsGeneratedAlone(engine);
    // 8 requests of at most 80 tokens each: even with the recompute it stays a few hundred steps.
    expect(steps).toBeLessThan(1_000);
  });
});

describe('priority preemption', () => {
  function fullOfBatchJobs(priorityPreemption: boolean): FakeEngine {
    const engine = new FakeEngine({ maxSeqs: 2, maxLen: 128, priorityPreemption });
    engine.submit('batch-1', { promptLength: 8, maxTokens: 50, priority: Priority.batch });
    engine.submit('batch-2', { promptLength: 8, maxTokens: 50, priority: Priority.batch });
    engine.step();
    engine.step();
    return engine;
  }

  it('lets an interactive request take the row of the newest batch job', () => {
    const engine = fullOfBatchJobs(true);
    engine.submit('chat', { promptLength: 6, maxTokens: 4, priority: Priority.interactive });
    const output = engine.step();
    expect(output.preempted).toEqual(['batch-2']);
    expect(output.admitted).toEqual(['chat']);
    // The chat's prefill step holds the remaining batch job's decode back (it decodes next step).
    expect(output.decode).toEqual([]);
    expect(engine.step().decode.map((d) => d.id).sort()).toEqual(['batch-1', 'chat']);
    expect(engine.scheduler.stats()).toMatchObject({ priorityPreemptionsTotal: 1, preemptionsTotal: 1, numPreempted: 1 });
    engine.runToIdle();
    expectAllAsGeneratedAlone(engine);
  });

  it('makes the interactive request wait when the policy is off', () => {
    const engine = fullOfBatchJobs(false);
    engine.submit('chat', { promptLength: 6, maxTokens: 4, priority: Priority.interactive });
    const output = engine.step();
    expect(output.preempted).toEqual([]);
    expect(output.admitted).toEqual([]);
    expect(engine.scheduler.get('chat')?.status).toBe('waiting');
  });

  it('frees KV tokens as well as rows, but preempts nobody when that would not be enough', () => {
    const engine = new FakeEngine({ maxSeqs: 4, maxLen: 100, kvTokenBudget: 100 });
    // The batch job first: a step that prefills a chat admits no batch job beside it.
    engine.submit('batch', { promptLength: 60, maxTokens: 20, priority: Priority.batch });
    engine.step();
    engine.submit('chat-running', { promptLength: 10, maxTokens: 80 });
    engine.step();
    engine.submit('chat-huge', { promptLength: 95, maxTokens: 2 });
    // 95 + chat-running's 11 exceed 100 even with the batch job gone: nobody is preempted.
    expect(engine.step().preempted).toEqual([]);
    engine.scheduler.abort('chat-huge');
    engine.submit('chat-small', { promptLength: 30, maxTokens: 2 });
    const output = engine.step();
    expect(output.preempted).toEqual(['batch']);
    expect(output.admitted).toEqual(['chat-small']);
    engine.runToIdle();
  });

  it('shields a request from priority preemption after preemptionShield preemptions', () => {
    const engine = new FakeEngine({ maxSeqs: 1, maxLen: 128, preemptionShield: 1 });
    engine.submit('batch', { promptLength: 8, maxTokens: 20, priority: Priority.batch });
    engine.step();
    engine.submit('chat-1', { promptLength: 4, maxTokens: 2 });
    expect(engine.step().preempted).toEqual(['batch']);
    while (engine.scheduler.get('batch')?.status !== 'running') engine.step();
    engine.submit('chat-2', { promptLength: 4, maxTokens: 2 });
    // Once shielded, chat-2 waits for the batch job to finish instead of preempting it again.
    let output = engine.step();
    expect(output.preempted).toEqual([]);
    while (output.admitted.length === 0) output = engine.step();
    expect(output.admitted).toEqual(['chat-2']);
    expect(output.finished).toEqual([{ id: 'batch', reason: 'length' }]);
    engine.runToIdle();
    expect(engine.scheduler.stats().preemptionsTotal).toBe(1);
    expectAllAsGeneratedAlone(engine);
  });
});
