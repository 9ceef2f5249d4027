import { describe, expect, it } from 'vitest';
import { Priority } from '../scheduler/index.js';
import { FakeEngine } from './scheduler-fake-engine.js';

/**
 * One row, so a row freed by an abort is visible as the next waiting request's admission.
 * 'victim' is aborted in the state a test puts it in; 'next' waits behind it.
 */
function oneRowEngine(): FakeEngine {
  return new FakeEngine({ maxSeqs: 1, maxLen: 512, maxNumBatchedTokens: 1 + 32, maxPrefillChunk: 32 });
}

/** Aborts 'victim', then checks the next step reports it once and gives its row to 'next'. */
function expectAbortFreesRow(engine: FakeEngine): void {
  expect(engine.scheduler.abort('victim')).toBe(true);
  expect(engine.scheduler.get('victim')).toMatchObject({ status: 'finished', finishReason: 'abort' });
  expect(engine.scheduler.abort('victim')).toBe(false);
  const output = engine.step();
  expect(output.finished).toEqual([{ id: 'victim', reason: 'abort' }]);
  expect(output.admitted).toEqual(['next']);
  expect(engine.scheduler.get('victim')).toBeUndefined();
  engine.runToIdle();
  expect(engine.results.get('next')).toMatchObject(engine.expected.get('next')!);
  expect(engine.scheduler.stats()).toMatchObject({ numRunning: 0, numWaiting: 0, kvTokensReserved: 0, kvTokensInUse: 0 });
  expect(engine.runner.rows.size).toBe(0);
}

describe('abort', () => {
  it('removes a waiting request from the queue', () => {
    const engine = oneRowEngine();
    engine.submit('first', { promptLength: 4, maxTokens: 2 });
    engine.submit('victim', { promptLength: 4, maxTokens: 2 });
    engine.submit('next', { promptLength: 4, maxTokens: 2 });
    engine.step();
    expect(engine.scheduler.abort('victim')).toBe(true);
    engine.runToIdle();
    expect(engine.results.get('victim')).toMatchObject({ reason: 'abort', generated: 0 });
    expect(engine.outputs.flatMap((output) => output.admitted)).toEqual(['first', 'next']);
  });

  it('frees the row of a request in the middle of its chunked prefill', () => {
    const engine = oneRowEngine();
    engine.submit('victim', { promptLength: 100, maxTokens: 2 });
    engine.submit('next', { promptLength: 4, maxTokens: 2 });
    engine.step();
    expect(engine.scheduler.get('victim')).toMatchObject({ status: 'running', numComputedTokens: 32 });
    expectAbortFreesRow(engine);
  });

  it('frees the row of a decoding request', () => {
    const engine = oneRowEngine();
    engine.submit('victim', { promptLength: 4, maxTokens: 50 });
    engine.submit('next', { promptLength: 4, maxTokens: 2 });
    for (let i = 0; i < 3; i++) engine.step();
    expect(engine.scheduler.get('victim')).toMatchObject({ status: 'running', numGeneratedTokens: 3 });
    expectAbortFreesRow(engine);
  });

  it('removes a preempted request, which holds no row, from the queue', () => {
    const engine = new FakeEngine({ maxSeqs: 1, maxLen: 128 });
    engine.submit('victim', { promptLength: 4, maxTokens: 50, priority: Priority.batch });
    engine.step();
    engine.submit('chat', { promptLength: 4, maxTokens: 3 });
    expect(engine.step().preempted).toEqual(['victim']);
    expect(engine.scheduler.abort('victim')).toBe(true);
    const output = engine.step();
    expect(output.finished).toEqual([{ id: 'victim', reason: 'abort' }]);
    engine.runToIdle();
    expect(engine.outputs.flatMap((o) => o.admitted)).toEqual(['victim', 'chat']);
    expect(engine.scheduler.stats()).toMatchObject({ numWaiting: 0, numPreempted: 0, kvTokensReserved: 0 });
  });

  it('is a no-op on a finished or unknown request', () => {
    const engine = oneRowEngine();
    engine.submit('done', { promptLength: 4, maxTokens: 1 });
    engine.step();
    expect(engine.scheduler.get('done')?.status).toBe('finished');
    expect(engine.scheduler.abort('done')).toBe(false);
    expect(engine.step().finished).toEqual([{ id: 'done', reason: 'length' }]);
    expect(engine.scheduler.abort('done')).toBe(false);
    expect(engine.scheduler.abort('never-seen')).toBe(false);
    expect(engine.scheduler.stats().finishedTotal).toMatchObject({ length: 1, abort: 0 });
  });

  it('ignores the in-flight work of a request aborted between schedule() and update()', () => {
    const engine = oneRowEngine();
    engine.submit('victim', { promptLength: 4, maxTokens: 50 });
    engine.submit('next', { promptLength: 4, maxTokens: 2 });
    engine.step();
    let aborted = false;
    engine.step((output) => {
      expect(output.decode.map((d) => d.id)).toEqual(['victim']);
      aborted = engine.scheduler.abort('victim', 'error');
    });
    expect(aborted).toBe(true);
    // The sampled token was not counted: generation stopped at the one from the first step.
    expect(engine.scheduler.get('victim')).toMatchObject({ status: 'finished', finishReason: 'error', numGeneratedTokens: 1 });
    const output = engine.step();
    expect(output.finished).toEqual([{ id: 'victim', reason: 'error' }]);
    expect(output.admitted).toEqual(['next']);
  });

  it('lets an id be reused once its finish has been reported', () => {
    const engine = oneRowEngine();
    engine.submit('victim', { promptLength: 4, maxTokens: 5 });
    engine.step();
    engine.scheduler.abort('victim');
    expect(() => engine.scheduler.add({ id: 'victim', promptLength: 4, maxTokens: 5 })).toThrow(/duplicate/);
    engine.step();
    expect(engine.scheduler.add({ id: 'victim', promptLength: 4, maxTokens: 5 }).status).toBe('waiting');
  });
});
