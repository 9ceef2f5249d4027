import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { answeredLine, unansweredLine } from '../../src/batch/output/output-line.js';
import { finalizeBatch } from '../../src/batch/output/write-batch-files.js';
import { BatchData, type BatchLocation, type BatchStores } from '../../src/batch/storage/batch-data.js';
import type { BatchLineInput, LineAnswer } from '../../src/batch/storage/batch-store.js';

/** A fresh, empty database for one test, and how to remove it afterwards. */
export interface StorageFixture {
  location(): Promise<BatchLocation>;
}

const lines = (n: number): BatchLineInput[] =>
  Array.from({ length: n }, (_, i) => ({ lineNumber: i + 1, customId: `c${i}`, url: '/v1/completions', body: JSON.stringify({ prompt: `p${i}` }) }));

const answer = (customId: string, status: number, tokens = 0): LineAnswer => ({
  succeeded: status < 300,
  output: answeredLine({ id: `batch_req_${customId}`, customId, statusCode: status, requestId: `r-${customId}`, bodyText: JSON.stringify({ status }) }),
  inputTokens: tokens,
  outputTokens: 2 * tokens,
});

const jsonLines = (text: string) => text.trimEnd().split('\n').map((l) => JSON.parse(l) as { custom_id: string; response: { status_code: number } | null });

/**
 * The behaviour every batch store owes the executor and the routes, run against each
 * implementation (SQLite in a data directory, PostgreSQL) by its own test file: the line state
 * machine, leases, finalization, files' bytes, listings.
 */
export function describeBatchStorage(name: string, fixture: () => StorageFixture | null): void {
  describe(`batch storage contract: ${name}`, () => {
    const opened: BatchData[] = [];
    afterEach(async () => {
      for (const data of opened.splice(0)) await data.close();
    });

    async function open(location?: BatchLocation): Promise<{ stores: BatchStores; location: BatchLocation }> {
      const where = location ?? (await fixture()!.location());
      const data = new BatchData(where);
      opened.push(data);
      return { stores: (await data.open(true))!, location: where };
    }

    async function newRunningBatch(stores: BatchStores, n: number) {
      const file = await stores.files.add('in.jsonl', 'batch', Buffer.from('unused'));
      const batch = await stores.batches.create({ endpoint: '/v1/completions', inputFileId: file.id, completionWindow: '24h', windowSeconds: 86400, model: 'm', metadata: { job: 'x' } });
      expect(batch).toMatchObject({ status: 'validating', metadata: { job: 'x' }, model: 'm' });
      expect(await stores.batches.startRunning(batch.id, lines(n))).toBe(true);
      expect(await stores.batches.startRunning(batch.id, lines(n))).toBe(false);
      return batch.id;
    }

    it('answers a line at most once, counts it, and takes no answers after the ending', async () => {
      const { stores } = await open();
      const id = await newRunningBatch(stores, 3);
      expect(await stores.batches.claimLine(id, 'me', 60_000, [])).toMatchObject({ index: 0, customId: 'c0', lineNumber: 1, url: '/v1/completions' });
      expect(await stores.batches.commitLine(id, 1, answer('c1', 200, 5))).toBe(true);
      expect(await stores.batches.commitLine(id, 1, answer('c1', 200, 5))).toBe(false);
      expect(await stores.batches.commitLine(id, 2, answer('c2', 400))).toBe(true);
      expect(await stores.batches.get(id)).toMatchObject({ counts: { total: 3, completed: 1, failed: 1 }, usage: { inputTokens: 5, outputTokens: 10 } });
      expect(await stores.batches.claimLine(id, 'me', 60_000, [0])).toBeUndefined();
      expect(await stores.batches.pendingCount(id)).toBe(1);
      expect(await stores.batches.backlog()).toBe(1);
      // completed needs every line answered.
      expect(await stores.batches.beginEnding(id, 'completed', () => 'unused')).toBe(false);

      expect((await stores.batches.requestCancel(id))?.status).toBe('cancelling');
      expect(await stores.batches.beginEnding(id, 'cancelled', (line) => unansweredLine(line.customId, 'batch_cancelled'))).toBe(true);
      expect(await stores.batches.beginEnding(id, 'cancelled', () => 'twice')).toBe(false);
      expect(await stores.batches.commitLine(id, 0, answer('c0', 200))).toBe(false);
      expect(await stores.batches.get(id)).toMatchObject({ status: 'cancelling', ending: 'cancelled', counts: { total: 3, completed: 1, failed: 2 } });
      expect(await stores.batches.pendingCount(id)).toBe(0);
      expect(await stores.batches.backlog()).toBe(0);
    });

    it('leases a line to one owner at a time until the lease runs out; an owner may take back a line of its own not in flight', async () => {
      const { stores } = await open();
      const id = await newRunningBatch(stores, 3);
      expect((await stores.batches.claimLine(id, 'a', 3000, []))?.index).toBe(0);
      expect((await stores.batches.claimLine(id, 'b', 60_000, []))?.index).toBe(1);
      expect((await stores.batches.claimLine(id, 'a', 3000, [0]))?.index).toBe(2);
      // a's line 0 is not in flight any more (its answer could not be stored): a takes it back.
      expect((await stores.batches.claimLine(id, 'a', 3000, [2]))?.index).toBe(0);
      expect(await stores.batches.claimLine(id, 'b', 60_000, [1])).toBeUndefined();
      // a renews; b still finds nothing. Then a stops renewing (it died): its lines go to b.
      // Margins of over a second either way: a loaded machine may stall any one query.
      await sleep(1500);
      await stores.batches.renewLeases('a', 3000);
      await sleep(1800);
      expect(await stores.batches.claimLine(id, 'b', 60_000, [1])).toBeUndefined();
      await sleep(3000);
      expect((await stores.batches.claimLine(id, 'b', 60_000, [1]))?.index).toBe(0);
      expect((await stores.batches.claimLine(id, 'b', 60_000, [1, 0]))?.index).toBe(2);
      // The dead owner's late answer and the new owner's: one is stored.
      expect(await stores.batches.commitLine(id, 0, answer('c0', 200))).toBe(true);
      expect(await stores.batches.commitLine(id, 0, answer('c0', 200))).toBe(false);
      expect((await stores.batches.get(id))!.counts).toEqual({ total: 3, completed: 1, failed: 0 });
    });

    it('finalizes into an output and an error file in input order, once', async () => {
      const { stores } = await open();
      const id = await newRunningBatch(stores, 4);
      // Answers arrive out of order; the files are in input order.
      for (const [index, status] of [[3, 200], [0, 200], [2, 500], [1, 404]] as const) await stores.batches.commitLine(id, index, answer(`c${index}`, status));
      expect(await stores.batches.beginEnding(id, 'completed', () => 'unused')).toBe(true);
      expect((await stores.batches.get(id))!.status).toBe('finalizing');
      await finalizeBatch(stores, (await stores.batches.get(id))!);
      const done = (await stores.batches.get(id))!;
      expect(done).toMatchObject({ status: 'completed', counts: { total: 4, completed: 2, failed: 2 } });
      expect(done.times.completedAt).toBeTypeOf('number');
      const read = async (fileId: string | null) => jsonLines((await stores.files.readContent(fileId!)).toString('utf8'));
      expect((await read(done.outputFileId)).map((l) => [l.custom_id, l.response?.status_code])).toEqual([['c0', 200], ['c3', 200]]);
      expect((await read(done.errorFileId)).map((l) => [l.custom_id, l.response?.status_code])).toEqual([['c1', 404], ['c2', 500]]);
      expect(await stores.files.get(done.outputFileId!)).toMatchObject({ purpose: 'batch_output', filename: `${id}_output.jsonl` });

      const before = (await stores.files.list({ limit: 100, order: 'asc' })).files;
      await finalizeBatch(stores, (await stores.batches.get(id))!);
      expect((await stores.files.list({ limit: 100, order: 'asc' })).files).toEqual(before);
    });

    it('an expired batch answers its unrun lines as batch_expired; with no successes it has no output file', async () => {
      const { stores } = await open();
      const id = await newRunningBatch(stores, 2);
      expect(await stores.batches.beginEnding(id, 'expired', (line) => unansweredLine(line.customId, 'batch_expired'))).toBe(true);
      await finalizeBatch(stores, (await stores.batches.get(id))!);
      const done = (await stores.batches.get(id))!;
      expect(done).toMatchObject({ status: 'expired', outputFileId: null, counts: { total: 2, completed: 0, failed: 2 } });
      expect(jsonLines((await stores.files.readContent(done.errorFileId!)).toString('utf8'))).toEqual([
        { id: expect.stringMatching(/^batch_req_/), custom_id: 'c0', response: null, error: { code: 'batch_expired', message: expect.any(String) } },
        { id: expect.stringMatching(/^batch_req_/), custom_id: 'c1', response: null, error: { code: 'batch_expired', message: expect.any(String) } },
      ]);
    });

    it('keeps file bytes exactly (several MiB, multi-byte text), streams them, and removes them', async () => {
      const { stores } = await open();
      const text = Array.from({ length: 40_000 }, (_, i) => JSON.stringify({ custom_id: `r${i}`, text: 'é'.repeat(i % 97) })).join('\n');
      const content = Buffer.from(text, 'utf8');
      expect(content.byteLength).toBeGreaterThan(2 * 2 ** 20);
      const file = await stores.files.add('big.jsonl', 'batch', content);
      expect(file.bytes).toBe(content.byteLength);
      expect((await stores.files.readContent(file.id)).equals(content)).toBe(true);
      const streamed: Buffer[] = [];
      for await (const chunk of stores.files.contentStream(file.id)) streamed.push(chunk as Buffer);
      expect(Buffer.concat(streamed).equals(content)).toBe(true);
      expect(await stores.files.remove(file.id)).toBe(true);
      expect(await stores.files.remove(file.id)).toBe(false);
      expect(await stores.files.get(file.id)).toBeUndefined();
    });

    it('lists files and batches newest first in pages joined by the last id', async () => {
      const { stores } = await open();
      const files = [];
      for (let i = 0; i < 5; i++) files.push(await stores.files.add(`f${i}.jsonl`, 'batch', Buffer.from(`${i}`)));
      const ids = files.map((f) => f.id).reverse();
      const first = await stores.files.list({ limit: 2, order: 'desc' });
      expect(first.files.map((f) => f.id)).toEqual(ids.slice(0, 2));
      expect(first.hasMore).toBe(true);
      const rest = await stores.files.list({ limit: 10, order: 'desc', after: first.files[1].id });
      expect(rest.files.map((f) => f.id)).toEqual(ids.slice(2));
      expect(rest.hasMore).toBe(false);
      expect((await stores.files.list({ limit: 10, order: 'asc' })).files.map((f) => f.id)).toEqual([...ids].reverse());
      expect((await stores.files.list({ limit: 10, order: 'asc', after: ids[4] })).files.map((f) => f.id)).toEqual([...ids].reverse().slice(1));
      expect((await stores.files.list({ limit: 10, order: 'desc', purpose: 'batch_output' })).files).toEqual([]);
      expect((await stores.files.list({ limit: 10, order: 'desc', after: 'file-unknown' })).files).toEqual([]);

      const batches = [];
      for (let i = 0; i < 3; i++) batches.push(await stores.batches.create({ endpoint: '/v1/completions', inputFileId: files[1].id, completionWindow: '24h', windowSeconds: 60, model: null, metadata: null }));
      const page = await stores.batches.list(undefined, 2);
      expect(page.batches.map((b) => b.id)).toEqual([batches[2].id, batches[1].id]);
      expect(page.hasMore).toBe(true);
      expect(await stores.batches.list(batches[1].id, 2)).toMatchObject({ batches: [{ id: batches[0].id }], hasMore: false });
      expect((await stores.batches.inStatus('validating')).map((b) => b.id)).toEqual(batches.map((b) => b.id));
      expect(await stores.batches.failValidation(batches[0].id, [{ code: 'mismatched_url', line: 2, message: 'm', param: 'url' }])).toBe(true);
      expect(await stores.batches.get(batches[0].id)).toMatchObject({ status: 'failed', errors: [{ code: 'mismatched_url', line: 2 }] });
    });

    it('a second connection (another replica, or a restart) sees what the first stored', async () => {
      const first = await open();
      const id = await newRunningBatch(first.stores, 2);
      await first.stores.batches.commitLine(id, 1, answer('c1', 200, 3));
      await opened.shift()!.close();
      const second = await open(first.location);
      expect(await second.stores.batches.get(id)).toMatchObject({ status: 'in_progress', counts: { total: 2, completed: 1, failed: 0 }, usage: { inputTokens: 3 } });
      expect((await second.stores.batches.claimLine(id, 'other', 60_000, []))?.index).toBe(0);
    });
  });
}
