import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchExecutor } from '../src/batch/executor/batch-executor.js';
import type { LineRequestSender } from '../src/batch/executor/run-line.js';
import { answeredLine } from '../src/batch/output/output-line.js';
import { BatchData, type BatchStores } from '../src/batch/storage/batch-data.js';
import type { StoredBatch } from '../src/batch/storage/batch-store.js';
import { memoryLogger } from './helpers/server.js';

/**
 * The executor over a real data directory and a scripted endpoint (no model): retries on 429 and
 * 500, the concurrency bound, validation, expiry, and resuming whatever state a crash left.
 */
describe('the batch executor', () => {
  const dirs: string[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  const inputLines = (n: number, url = '/v1/completions') =>
    Array.from({ length: n }, (_, i) => JSON.stringify({ custom_id: `c${i}`, method: 'POST', url, body: { prompt: `p${i}`, max_tokens: 4 } })).join('\n');

  interface Endpoint {
    send: LineRequestSender;
    /** Prompts in the order they were sent. */
    calls: string[];
    maxConcurrent: number;
  }

  /** A scripted endpoint: `status(prompt, attempt)` decides each answer; `hold` keeps a prompt's request open until aborted. */
  function endpoint(status: (prompt: string, attempt: number) => number = () => 200, hold: (prompt: string) => boolean = () => false): Endpoint {
    const attempts = new Map<string, number>();
    let running = 0;
    const result: Endpoint = {
      calls: [],
      maxConcurrent: 0,
      send: async (_url, init) => {
        const prompt = (JSON.parse(init.body as string) as { prompt: string }).prompt;
        result.calls.push(prompt);
        running += 1;
        result.maxConcurrent = Math.max(result.maxConcurrent, running);
        try {
          const attempt = (attempts.get(prompt) ?? 0) + 1;
          attempts.set(prompt, attempt);
          if (hold(prompt)) {
            await new Promise<void>((resolve) => init.signal!.addEventListener('abort', () => resolve(), { once: true }));
            return Response.json({ error: { message: 'cut off' } }, { status: 503 });
          }
          await new Promise((r) => setTimeout(r, 5));
          const code = status(prompt, attempt);
          const headers = { 'x-request-id': (init.headers as Record<string, string>)['x-request-id'], ...(code === 429 ? { 'retry-after': '0' } : {}) };
          const body = code === 200 ? { text: `answer to ${prompt}`, usage: { prompt_tokens: 3, completion_tokens: 4 } } : { error: { message: `status ${code}` } };
          return Response.json(body, { status: code, headers });
        } finally {
          running -= 1;
        }
      },
    };
    return result;
  }

  async function setUp(options: { lines?: string; url?: '/v1/completions' | '/v1/chat/completions'; endpoint: Endpoint; concurrency?: number; now?: () => number }) {
    const dir = mkdtempSync(join(tmpdir(), 'batch-executor-'));
    dirs.push(dir);
    const data = new BatchData({ kind: 'sqlite', dataDir: dir });
    const stores = (await data.open(true))!;
    const file = await stores.files.add('in.jsonl', 'batch', Buffer.from(options.lines ?? inputLines(6)));
    const batch = await stores.batches.create({ endpoint: options.url ?? '/v1/completions', inputFileId: file.id, completionWindow: '24h', windowSeconds: 86400, model: 'm', metadata: null });
    const ended = new Map<string, (batch: StoredBatch) => void>();
    const executor = new BatchExecutor({
      data,
      send: options.endpoint.send,
      concurrency: options.concurrency ?? 2,
      inputLimits: { maxLines: 1000, maxBodyBytes: 1 << 20 },
      logger: memoryLogger().logger,
      now: options.now,
      onBatchEnded: (b) => ended.get(b.id)?.(b),
    });
    cleanups.push(async () => {
      await executor.stop();
      await data.close();
    });
    const endOf = (id: string) => new Promise<StoredBatch>((resolve) => ended.set(id, resolve));
    return { stores, executor, batchId: batch.id, endOf };
  }

  const fileLines = async (stores: BatchStores, fileId: string | null) =>
    fileId === null ? [] : (await stores.files.readContent(fileId)).toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { custom_id: string; response: { status_code: number } | null; error: { code: string } | null });

  it('answers every line once, within the concurrency bound, retrying 429s and repeated 500s', async () => {
    // c1 is refused twice (429), c2 fails once (500) then works, c3 fails every time (500).
    const api = endpoint((prompt, attempt) => (prompt === 'p1' && attempt <= 2 ? 429 : prompt === 'p2' && attempt === 1 ? 500 : prompt === 'p3' ? 500 : 200));
    const { stores, executor, batchId, endOf } = await setUp({ endpoint: api, concurrency: 2 });
    const ended = endOf(batchId);
    executor.start();
    const batch = await ended;
    expect(batch).toMatchObject({ status: 'completed', counts: { total: 6, completed: 5, failed: 1 }, usage: { inputTokens: 15, outputTokens: 20 } });
    expect(api.maxConcurrent).toBeLessThanOrEqual(2);
    expect(api.calls.filter((p) => p === 'p1')).toHaveLength(3);
    expect(api.calls.filter((p) => p === 'p2')).toHaveLength(2);
    expect(api.calls.filter((p) => p === 'p3')).toHaveLength(3);
    expect(api.calls.filter((p) => p === 'p0')).toHaveLength(1);
    const output = await fileLines(stores, batch.outputFileId);
    expect(output.map((l) => l.custom_id)).toEqual(['c0', 'c1', 'c2', 'c4', 'c5']);
    expect((await fileLines(stores, batch.errorFileId)).map((l) => [l.custom_id, l.response?.status_code])).toEqual([['c3', 500]]);
  });

  it('a line that ran past the request timeout (504) fails at once: one attempt, in the error file', async () => {
    const api = endpoint((prompt) => (prompt === 'p1' ? 504 : 200));
    const { stores, executor, batchId, endOf } = await setUp({ lines: inputLines(3), endpoint: api });
    const ended = endOf(batchId);
    executor.start();
    const batch = await ended;
    expect(batch).toMatchObject({ status: 'completed', counts: { total: 3, completed: 2, failed: 1 } });
    expect(api.calls.filter((p) => p === 'p1')).toHaveLength(1);
    expect((await fileLines(stores, batch.errorFileId)).map((l) => [l.custom_id, l.response?.status_code])).toEqual([['c1', 504]]);
  });

  it('fails a batch whose lines do not call its endpoint, naming the lines', async () => {
    const api = endpoint();
    const { executor, batchId, endOf } = await setUp({ endpoint: api, url: '/v1/chat/completions' });
    const ended = endOf(batchId);
    executor.start();
    const batch = await ended;
    expect(batch.status).toBe('failed');
    expect(batch.times.failedAt).toBeTypeOf('number');
    expect(batch.errors).toHaveLength(6);
    expect(batch.errors![0]).toEqual({ code: 'mismatched_url', line: 1, param: 'url', message: expect.stringContaining('line 1') });
    expect(api.calls).toEqual([]);
  });

  it('expires a batch past its window: running lines are aborted, unrun lines answered batch_expired', async () => {
    let now = Math.floor(Date.now() / 1000);
    const api = endpoint(undefined, (prompt) => prompt !== 'p0');
    const { stores, executor, batchId, endOf } = await setUp({ endpoint: api, concurrency: 2, now: () => now });
    const ended = endOf(batchId);
    executor.start();
    await expect.poll(async () => (await stores.batches.get(batchId))!.counts.completed, { timeout: 5000 }).toBe(1);
    now += 86400;
    executor.notify();
    const batch = await ended;
    expect(batch).toMatchObject({ status: 'expired', counts: { total: 6, completed: 1, failed: 5 } });
    expect(batch.times.expiredAt).toBeTypeOf('number');
    expect((await fileLines(stores, batch.outputFileId)).map((l) => l.custom_id)).toEqual(['c0']);
    expect((await fileLines(stores, batch.errorFileId)).map((l) => [l.custom_id, l.error?.code])).toEqual(['c1', 'c2', 'c3', 'c4', 'c5'].map((c) => [c, 'batch_expired']));
  });

  it('resumes what a crash left: committed lines are not run again, a half-finalized batch is finished', async () => {
    const api = endpoint();
    const { stores, executor, batchId, endOf } = await setUp({ endpoint: api });
    // As if an earlier process validated the batch, answered c0 and c2, and died with c1 in flight.
    const lines = inputLines(4)
      .split('\n')
      .map((text, i) => ({ lineNumber: i + 1, customId: `c${i}`, url: '/v1/completions' as const, body: JSON.stringify((JSON.parse(text) as { body: unknown }).body) }));
    await stores.batches.startRunning(batchId, lines);
    for (const i of [0, 2]) {
      await stores.batches.commitLine(batchId, i, {
        succeeded: true,
        output: answeredLine({ id: `batch_req_old${i}`, customId: `c${i}`, statusCode: 200, requestId: `old${i}`, bodyText: '{"before":"crash"}' }),
        inputTokens: 1,
        outputTokens: 1,
      });
    }
    // A second batch died between recording its ending and writing its files.
    const file = await stores.files.add('in2.jsonl', 'batch', Buffer.from(inputLines(1)));
    const other = await stores.batches.create({ endpoint: '/v1/completions', inputFileId: file.id, completionWindow: '24h', windowSeconds: 86400, model: null, metadata: null });
    await stores.batches.startRunning(other.id, lines.slice(0, 1));
    await stores.batches.requestCancel(other.id);
    await stores.batches.beginEnding(other.id, 'cancelled', () => '{"id":"batch_req_x","custom_id":"c0","response":null,"error":{"code":"batch_cancelled","message":"m"}}');

    const [first, second] = [endOf(batchId), endOf(other.id)];
    executor.start();
    const [batch, cancelled] = await Promise.all([first, second]);
    expect(api.calls.sort()).toEqual(['p1', 'p3']);
    expect(batch).toMatchObject({ status: 'completed', counts: { total: 4, completed: 4, failed: 0 } });
    const output = await fileLines(stores, batch.outputFileId);
    expect(output.map((l) => l.custom_id)).toEqual(['c0', 'c1', 'c2', 'c3']);
    expect((await stores.files.readContent(batch.outputFileId!)).toString('utf8')).toContain('{"before":"crash"}');
    expect(cancelled).toMatchObject({ status: 'cancelled', outputFileId: null, counts: { total: 1, completed: 0, failed: 1 } });
  });
});
