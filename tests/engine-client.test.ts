import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EngineEvent } from '../src/engine/generation.js';
import type { StepReport } from '../src/engine/step-report.js';
import { EngineClient } from '../src/engine/worker/engine-client.js';
import { request } from './helpers/engine-driver.js';
import { tinyModelDir } from './helpers/models.js';

async function collect(stream: AsyncIterable<EngineEvent>): Promise<EngineEvent[]> {
  const events: EngineEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe('EngineClient: the engine in a worker thread', () => {
  let client: EngineClient;
  const reports: StepReport[] = [];

  beforeAll(async () => {
    client = await EngineClient.start({ modelDir: tinyModelDir('int8'), device: 'cpu', maxSeqs: 4, maxModelLen: 512 }, { maxWaiting: 2 });
    client.onStep((r) => reports.push(r));
  });
  afterAll(async () => {
    await client?.close();
  });

  it('reports what it loaded', () => {
    expect(client.info).toMatchObject({ maxSeqs: 4, maxLen: 512, contextLimit: 512, vocabSize: 151936, hasTokenizer: true, device: 'cpu' });
    expect(client.info.weightBytes).toBeGreaterThan(1_000_000);
    expect(client.state).toBe('ready');
  });

  it('streams deltas then done, with exact usage, and reports steps', async () => {
    const events = await collect(client.submit(request('a', [1, 2, 3, 4], { maxTokens: 5 })));
    const deltas = events.filter((e) => e.type === 'delta');
    const done = events.at(-1);
    expect(done?.type).toBe('done');
    if (done?.type !== 'done') return;
    expect(done.usage).toEqual({ promptTokens: 4, completionTokens: 5, cachedPromptTokens: 0 });
    expect(deltas.flatMap((d) => (d.type === 'delta' ? d.delta.tokenIds : []))).toHaveLength(5);
    expect(done.timings.firstToken).toBeGreaterThanOrEqual(done.timings.arrival);
    expect(reports.length).toBeGreaterThanOrEqual(5);
    expect(reports.some((r) => r.decodeBatchSize === 1)).toBe(true);
    // Its time to first token is reported by the step that produced the token, once.
    expect(reports.flatMap((r) => r.timesToFirstTokenMs)).toEqual([done.timings.firstToken! - done.timings.arrival]);
  });

  it('rejects what cannot run with the scheduler error, and refuses beyond its queue with 429', async () => {
    await expect(collect(client.submit(request('too-long', Array.from({ length: 600 }, () => 7))))).rejects.toMatchObject({
      code: 'context_length_exceeded',
      status: 400,
    });
    const streams = Array.from({ length: 6 }, (_, i) => client.submit(request(`q${i}`, [5, 6, 7], { maxTokens: 3 })));
    expect(() => client.submit(request('overflow', [5]))).toThrow(expect.objectContaining({ status: 429, code: 'queue_full' }));
    const all = await Promise.all(streams.map(collect));
    expect(all.every((events) => events.at(-1)?.type === 'done')).toBe(true);
    expect(client.inFlight).toBe(0);
  });

  it('holds reserved admission places on top of maxWaiting (the batch executor\'s lines)', async () => {
    const reserved = await EngineClient.start({ modelDir: tinyModelDir('int8'), device: 'cpu', maxSeqs: 2, maxModelLen: 128 }, { maxWaiting: 1, reservedSlots: 2 });
    try {
      // 2 rows + 1 waiting + 2 reserved: the sixth request is the first refused.
      const streams = Array.from({ length: 5 }, (_, i) => reserved.submit(request(`r${i}`, [5, 6, 7], { maxTokens: 2 })));
      expect(() => reserved.submit(request('overflow', [5]))).toThrow(expect.objectContaining({ status: 429, code: 'queue_full' }));
      await Promise.all(streams.map(collect));
    } finally {
      await reserved.close();
    }
  });

  it('aborting mid-stream (signal or leaving the loop) frees the row', async () => {
    const controller = new AbortController();
    let seen = 0;
    for await (const event of client.submit(request('long1', [9, 9, 9], { maxTokens: 400 }, { ignoreEos: true }), controller.signal)) {
      if (event.type === 'delta' && ++seen === 3) controller.abort();
    }
    for await (const event of client.submit(request('long2', [8, 8], { maxTokens: 400 }, { ignoreEos: true }))) {
      if (event.type === 'delta') break;
    }
    expect(client.inFlight).toBe(0);
    // The worker frees both rows at its next step; then a fresh request runs alone.
    const events = await collect(client.submit(request('after', [1, 2], { maxTokens: 2 })));
    expect(events.at(-1)?.type).toBe('done');
    const last = reports.at(-1)!;
    expect(last.scheduler.numRunning).toBeLessThanOrEqual(1);
    expect(last.scheduler.numWaiting).toBe(0);
  });

  describe('a request timeout', () => {
    afterEach(() => {
      vi.restoreAllMocks();
    });

    /** The timers EngineClient starts for `timeoutMs` (a delay no other code uses), and whether each was cleared. */
    function watchTimers(timeoutMs: number): () => { started: number; cleared: number } {
      const setTimer = vi.spyOn(globalThis, 'setTimeout');
      const clearTimer = vi.spyOn(globalThis, 'clearTimeout');
      return () => {
        const handles = setTimer.mock.calls.flatMap((call, i) => (call[1] === timeoutMs ? [setTimer.mock.results[i].value as unknown] : []));
        const cleared = handles.filter((handle) => clearTimer.mock.calls.some((call) => call[0] === handle)).length;
        return { started: handles.length, cleared };
      };
    }

    it('past it the request is cancelled like an abort: the stream throws 504 request_timeout and the row is freed', async () => {
      const timers = watchTimers(150);
      const events: EngineEvent[] = [];
      const started = performance.now();
      const run = async () => {
        for await (const event of client.submit(request('slow', [9, 9, 9], { maxTokens: 500 }, { ignoreEos: true }), undefined, 150)) events.push(event);
      };
      await expect(run()).rejects.toMatchObject({ status: 504, type: 'timeout_error', code: 'request_timeout', message: expect.stringContaining('0.15 s') });
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      expect(events.some((event) => event.type === 'done')).toBe(false);
      expect(client.inFlight).toBe(0);
      expect(timers().started).toBe(1);
      // The worker frees the row at its next step; then a fresh request runs alone.
      const after = await collect(client.submit(request('after-timeout', [1, 2], { maxTokens: 2 })));
      expect(after.at(-1)?.type).toBe('done');
      expect(reports.at(-1)!.scheduler.numRunning).toBeLessThanOrEqual(1);
      expect(reports.at(-1)!.scheduler.numWaiting).toBe(0);
    });

    it('its timer is cleared however the request ends first: done, an error, an abort, leaving the loop', async () => {
      const timeoutMs = 61_000;
      const timers = watchTimers(timeoutMs);
      const done = await collect(client.submit(request('in-time', [1, 2], { maxTokens: 2 }), undefined, timeoutMs));
      expect(done.at(-1)?.type).toBe('done');
      await expect(collect(client.submit(request('rejected', Array.from({ length: 600 }, () => 7)), undefined, timeoutMs))).rejects.toMatchObject({ status: 400 });
      const controller = new AbortController();
      for await (const event of client.submit(request('aborted', [3, 3], { maxTokens: 400 }, { ignoreEos: true }), controller.signal, timeoutMs)) {
        if (event.type === 'delta') controller.abort();
      }
      for await (const event of client.submit(request('left', [4, 4], { maxTokens: 400 }, { ignoreEos: true }), undefined, timeoutMs)) {
        if (event.type === 'delta') break;
      }
      expect(client.inFlight).toBe(0);
      expect(timers()).toEqual({ started: 4, cleared: 4 });
    });
  });

  it('a model that cannot load fails start() with its reason', async () => {
    await expect(EngineClient.start({ modelDir: '/nonexistent', device: 'cpu', maxSeqs: 1 })).rejects.toThrow(/genai_config.json is missing/);
  });
});
