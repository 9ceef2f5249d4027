import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ServeError } from '../src/errors.js';
import { answeredLine, unansweredLine } from '../src/batch/output/output-line.js';
import { finalizeBatch } from '../src/batch/output/write-batch-files.js';
import { BatchData, type BatchStores } from '../src/batch/storage/batch-data.js';
import { DATABASE_FILE } from '../src/batch/storage/batch-database.js';
import type { BatchLineInput, LineAnswer } from '../src/batch/storage/batch-store.js';

/** The SQLite store on its own: lazy creation, the lock, the line state machine, finalization. */
describe('batch storage', () => {
  const dirs: string[] = [];
  const opened: BatchData[] = [];
  afterEach(() => {
    for (const data of opened.splice(0)) data.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function dataDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'batch-store-'));
    dirs.push(dir);
    return dir;
  }

  function open(dir: string): BatchStores {
    const data = new BatchData(dir);
    opened.push(data);
    return data.open(true)!;
  }

  const lines = (n: number): BatchLineInput[] =>
    Array.from({ length: n }, (_, i) => ({ lineNumber: i + 1, customId: `c${i}`, url: '/v1/completions', body: JSON.stringify({ prompt: `p${i}` }) }));

  const answer = (customId: string, status: number, tokens = 0): LineAnswer => ({
    succeeded: status < 300,
    output: answeredLine({ id: `batch_req_${customId}`, customId, statusCode: status, requestId: `r-${customId}`, bodyText: JSON.stringify({ status }) }),
    inputTokens: tokens,
    outputTokens: 2 * tokens,
  });

  async function newRunningBatch(stores: BatchStores, n: number) {
    const file = await stores.files.add('in.jsonl', 'batch', Buffer.from('unused'));
    const batch = stores.batches.create({ endpoint: '/v1/completions', inputFileId: file.id, completionWindow: '24h', windowSeconds: 86400, model: 'm', metadata: { job: 'x' } });
    expect(batch.status).toBe('validating');
    expect(stores.batches.startRunning(batch.id, lines(n))).toBe(true);
    return batch.id;
  }

  it('creates nothing until asked, then holds the data directory exclusively until closed', () => {
    const dir = dataDir();
    expect(new BatchData(dir).open(false)).toBeNull();
    expect(existsSync(join(dir, DATABASE_FILE))).toBe(false);

    const first = new BatchData(dir);
    opened.push(first);
    expect(first.open(true)).not.toBeNull();
    const second = new BatchData(dir);
    let refusal: unknown;
    try {
      second.open(false);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(ServeError);
    expect(refusal).toMatchObject({ type: 'service_unavailable', code: 'data_dir_locked' });
    first.close();
    opened.push(second);
    expect(second.open(false)).not.toBeNull();
  });

  it('answers a line at most once, counts it, and takes no answers after the ending', async () => {
    const stores = open(dataDir());
    const id = await newRunningBatch(stores, 3);
    expect(stores.batches.nextPendingLine(id, 0)).toMatchObject({ index: 0, customId: 'c0', lineNumber: 1, url: '/v1/completions' });
    expect(stores.batches.commitLine(id, 1, answer('c1', 200, 5))).toBe(true);
    expect(stores.batches.commitLine(id, 1, answer('c1', 200, 5))).toBe(false);
    expect(stores.batches.commitLine(id, 2, answer('c2', 400))).toBe(true);
    expect(stores.batches.get(id)).toMatchObject({ counts: { total: 3, completed: 1, failed: 1 }, usage: { inputTokens: 5, outputTokens: 10 } });
    expect(stores.batches.nextPendingLine(id, 1)).toBeUndefined();
    expect(stores.batches.pendingCount(id)).toBe(1);
    // completed needs every line answered.
    expect(stores.batches.beginEnding(id, 'completed', () => 'unused')).toBe(false);

    expect(stores.batches.requestCancel(id)?.status).toBe('cancelling');
    expect(stores.batches.beginEnding(id, 'cancelled', (line) => unansweredLine(line.customId, 'batch_cancelled'))).toBe(true);
    expect(stores.batches.beginEnding(id, 'cancelled', () => 'twice')).toBe(false);
    expect(stores.batches.commitLine(id, 0, answer('c0', 200))).toBe(false);
    const ended = stores.batches.get(id)!;
    expect(ended).toMatchObject({ status: 'cancelling', ending: 'cancelled', counts: { total: 3, completed: 1, failed: 2 } });
    expect(stores.batches.pendingCount(id)).toBe(0);
  });

  it('finalizes into an output and an error file in input order, once', async () => {
    const stores = open(dataDir());
    const id = await newRunningBatch(stores, 4);
    // Answers arrive out of order; the files are in input order.
    for (const [index, status] of [[3, 200], [0, 200], [2, 500], [1, 404]] as const) stores.batches.commitLine(id, index, answer(`c${index}`, status));
    expect(stores.batches.beginEnding(id, 'completed', () => 'unused')).toBe(true);
    expect(stores.batches.get(id)!.status).toBe('finalizing');
    await finalizeBatch(stores, stores.batches.get(id)!);
    const done = stores.batches.get(id)!;
    expect(done).toMatchObject({ status: 'completed', counts: { total: 4, completed: 2, failed: 2 } });
    expect(done.times.completedAt).toBeTypeOf('number');
    const read = (fileId: string | null) => readFileSync(stores.files.contentPath(fileId!), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { custom_id: string; response: { status_code: number } });
    expect(read(done.outputFileId).map((l) => [l.custom_id, l.response.status_code])).toEqual([['c0', 200], ['c3', 200]]);
    expect(read(done.errorFileId).map((l) => [l.custom_id, l.response.status_code])).toEqual([['c1', 404], ['c2', 500]]);
    expect(stores.files.get(done.outputFileId!)).toMatchObject({ purpose: 'batch_output', filename: `${id}_output.jsonl` });

    const before = readdirSync(stores.files.folder).sort();
    await finalizeBatch(stores, stores.batches.get(id)!);
    expect(readdirSync(stores.files.folder).sort()).toEqual(before);
  });

  it('an expired batch answers its unrun lines as batch_expired; with no successes it has no output file', async () => {
    const stores = open(dataDir());
    const id = await newRunningBatch(stores, 2);
    expect(stores.batches.beginEnding(id, 'expired', (line) => unansweredLine(line.customId, 'batch_expired'))).toBe(true);
    await finalizeBatch(stores, stores.batches.get(id)!);
    const done = stores.batches.get(id)!;
    expect(done).toMatchObject({ status: 'expired', outputFileId: null, counts: { total: 2, completed: 0, failed: 2 } });
    const errors = readFileSync(stores.files.contentPath(done.errorFileId!), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(errors).toEqual([
      { id: expect.stringMatching(/^batch_req_/), custom_id: 'c0', response: null, error: { code: 'batch_expired', message: expect.any(String) } },
      { id: expect.stringMatching(/^batch_req_/), custom_id: 'c1', response: null, error: { code: 'batch_expired', message: expect.any(String) } },
    ]);
  });

  it('on opening, removes content files that no row names (a crash between writing bytes and inserting the row)', async () => {
    const dir = dataDir();
    const data = new BatchData(dir);
    const stores = data.open(true)!;
    const kept = await stores.files.add('in.jsonl', 'batch', Buffer.from('kept\n'));
    writeFileSync(join(stores.files.folder, 'file-orphan.jsonl'), 'orphan');
    writeFileSync(join(stores.files.folder, 'file-half.jsonl.tmp'), 'half');
    data.close();
    const reopened = open(dir);
    expect(readdirSync(reopened.files.folder)).toEqual([`${kept.id}.jsonl`]);
    expect(readFileSync(reopened.files.contentPath(kept.id), 'utf8')).toBe('kept\n');
  });

  it('lists files and batches newest first in pages joined by the last id', async () => {
    const stores = open(dataDir());
    const files = [];
    for (let i = 0; i < 5; i++) files.push(await stores.files.add(`f${i}.jsonl`, 'batch', Buffer.from(`${i}`)));
    const ids = files.map((f) => f.id).reverse();
    const first = stores.files.list({ limit: 2, order: 'desc' });
    expect(first.files.map((f) => f.id)).toEqual(ids.slice(0, 2));
    expect(first.hasMore).toBe(true);
    const rest = stores.files.list({ limit: 10, order: 'desc', after: first.files[1].id });
    expect(rest.files.map((f) => f.id)).toEqual(ids.slice(2));
    expect(rest.hasMore).toBe(false);
    expect(stores.files.list({ limit: 10, order: 'asc' }).files.map((f) => f.id)).toEqual([...ids].reverse());
    expect(stores.files.list({ limit: 10, order: 'desc', purpose: 'batch_output' }).files).toEqual([]);
    expect(stores.files.list({ limit: 10, order: 'desc', after: 'file-unknown' }).files).toEqual([]);
    expect(stores.files.remove(files[0].id)).toBe(true);
    expect(stores.files.remove(files[0].id)).toBe(false);
    expect(existsSync(stores.files.contentPath(files[0].id))).toBe(false);

    const batches = [];
    for (let i = 0; i < 3; i++) batches.push(stores.batches.create({ endpoint: '/v1/completions', inputFileId: files[1].id, completionWindow: '24h', windowSeconds: 60, model: null, metadata: null }));
    const page = stores.batches.list(undefined, 2);
    expect(page.batches.map((b) => b.id)).toEqual([batches[2].id, batches[1].id]);
    expect(page.hasMore).toBe(true);
    expect(stores.batches.list(batches[1].id, 2)).toMatchObject({ batches: [{ id: batches[0].id }], hasMore: false });
  });
});
