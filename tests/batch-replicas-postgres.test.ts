import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileText, greedyChatLine, jsonl, parseOutput, uploadBatchFile, waitForBatch } from './helpers/batch-files.js';
import { tinyModelDir } from './helpers/models.js';
import { parseExposition, sampleValue } from './helpers/prometheus.js';
import { postgresMissing, startPostgres, type TestPostgres } from './helpers/postgres.js';
import { spawnServe, waitReady, type ServeProcess } from './helpers/serve-process.js';

const LEASE_SECONDS = 2;

/**
 * Two `qwen3-serve serve` processes on one PostgreSQL database (a real server the test starts):
 * a file uploaded through one is read through the other, both work one batch, one is killed with
 * SIGKILL in the middle of it, and the other finishes it once the dead one's leases run out, with
 * every custom_id answered exactly once with a 200.
 */
const missing = postgresMissing();
describe.skipIf(missing !== null)(`two serve replicas on one PostgreSQL database${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let server: TestPostgres;
  let url: string;
  const children: ServeProcess[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'batch-replicas-'));
  beforeAll(async () => {
    server = await startPostgres();
    url = await server.createDatabase('replicas');
  }, 120_000);
  afterAll(async () => {
    for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function replica(): Promise<{ process: ServeProcess; client: OpenAI }> {
    // The data directory is shared too, to show it is not what carries the batch: nothing is written there.
    const process = spawnServe(['--model', tinyModelDir('int4'), '--port', '0', '--max-seqs', '2', '--data-dir', dataDir], {
      QWEN3_SERVE_DATABASE_URL: url,
      QWEN3_SERVE_BATCH_LEASE_SECONDS: String(LEASE_SECONDS),
    });
    children.push(process);
    await waitReady(process);
    return { process, client: new OpenAI({ baseURL: `${await process.url}/v1`, apiKey: 'unused', maxRetries: 0 }) };
  }

  /** The lease owner a replica logged when its executor started. */
  const ownerOf = (process: ServeProcess) => {
    const line = process.stdout().split('\n').find((l) => l.includes('"msg":"batch executor started"'));
    return (JSON.parse(line!) as { owner: string }).owner;
  };

  async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<T[]> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  it('the survivor of a SIGKILL finishes the batch; every custom_id exactly once, each a 200', async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    const lines = Array.from({ length: 20 }, (_, i) => greedyChatLine(`contract-${i}`, `Summarize contract ${i}: the buyer pays within ${i + 10} days.`, 112));
    const input = jsonl(lines);

    // Uploaded through A, read through B.
    const file = await uploadBatchFile(a.client, input);
    expect(await fileText(b.client, file.id)).toBe(input);
    expect((await b.client.files.retrieve(file.id)).bytes).toBe(Buffer.byteLength(input));

    const batch = await b.client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const [ownerA, ownerB] = [ownerOf(a.process), ownerOf(b.process)];
    const leasedBy = async (owner: string) =>
      (await query<{ custom_id: string }>("SELECT custom_id FROM batch_lines WHERE batch_id = $1 AND state = 'pending' AND lease_owner = $2", [batch.id, owner])).map((r) => r.custom_id);

    // Both replicas at work: lines answered, and each holding leases.
    await waitForBatch(a.client, batch.id, 60_000, (x) => (x.request_counts?.completed ?? 0) >= 2);
    for (let waited = 0; ((await leasedBy(ownerA)).length === 0 || (await leasedBy(ownerB)).length === 0) && waited < 30_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    // The backlog gauge reads the shared store: B counts the lines pending of a batch both work.
    const pendingNow = async (replica: { process: ServeProcess }) =>
      sampleValue(parseExposition(await (await fetch(`${await replica.process.url}/metrics`)).text()), 'qwen3_serve_batch_lines_pending');
    const backlogBefore = await pendingNow(b);
    expect(backlogBefore).toBeGreaterThan(0);
    expect(backlogBefore).toBeLessThan(20);
    a.process.child.kill('SIGKILL');
    expect(await a.process.exited).toBeNull();
    // What A held when it died: pending, leased to a process that will never answer.
    const orphaned = await leasedBy(ownerA);
    expect(orphaned.length).toBeGreaterThan(0);

    const done = await waitForBatch(b.client, batch.id, 180_000);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 20, completed: 20, failed: 0 });
    expect(done.error_file_id ?? null).toBeNull();
    const output = parseOutput(await fileText(b.client, done.output_file_id));
    expect(output.map((l) => l.custom_id)).toEqual(lines.map((l) => l.custom_id));
    expect(output.every((l) => l.response?.status_code === 200 && l.error === null)).toBe(true);
    expect(new Set(output.map((l) => l.id)).size).toBe(20);
    // A's orphaned lines were answered by B, after their leases ran out.
    const answeredOrphans = await query<{ custom_id: string; state: string; lease_owner: string | null }>(
      'SELECT custom_id, state, lease_owner FROM batch_lines WHERE batch_id = $1 AND custom_id = ANY($2::text[])',
      [batch.id, orphaned],
    );
    expect(answeredOrphans.map((r) => r.state)).toEqual(orphaned.map(() => 'succeeded'));
    // B logged each of them as a request of its own (the output line's id is the X-Request-Id).
    const orphanIds = orphaned.map((customId) => output.find((l) => l.custom_id === customId)!.id);
    const loggedByB = () => orphanIds.filter((id) => b.process.stdout().includes(`"requestId":"${id}"`));
    for (let waited = 0; loggedByB().length < orphanIds.length && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(loggedByB()).toEqual(orphanIds);

    expect(await pendingNow(b)).toBe(0);
    b.process.child.kill('SIGTERM');
    expect(await b.process.exited).toBe(0);
  });
});

describe('serve --database with no database there', () => {
  it('exits 1 with one line naming the database (password hidden) and the reason, before listening', async () => {
    const process = spawnServe(['--model', tinyModelDir('int4'), '--port', '0', '--database', 'postgres://qwen:hunter2@127.0.0.1:1/batches']);
    expect(await process.exited).toBe(1);
    expect(process.stderr()).toContain('qwen3-serve: the batch database postgres://qwen:***@127.0.0.1:1/batches could not be opened: connect ECONNREFUSED');
    expect(process.stderr()).not.toContain('hunter2');
    expect(process.stderr()).not.toMatch(/^\s+at /m);
    expect(process.stdout()).not.toContain('"url"');
  });
});
