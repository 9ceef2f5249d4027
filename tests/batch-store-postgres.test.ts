import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { BatchData } from '../src/batch/storage/batch-data.js';
import { describeBatchStorage } from './helpers/batch-store-suite.js';
import { postgresMissing, startPostgres, type TestPostgres } from './helpers/postgres.js';

/**
 * The PostgreSQL store against a real server this file starts (initdb into a temporary folder):
 * the same contract suite as SQLite, then what only a shared database does (replicas claiming
 * at once, migrations run by whichever replica comes first).
 */
const missing = postgresMissing();
let server: TestPostgres | null = null;
let databases = 0;
const newDatabase = () => server!.createDatabase(`store_${process.pid}_${++databases}`);

beforeAll(async () => {
  if (!missing) server = await startPostgres();
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

if (missing) {
  describe('batch storage: PostgreSQL', () => {
    it.skip(`skipped: ${missing}`, () => {});
  });
} else {
  describeBatchStorage('PostgreSQL', () => ({ location: async () => ({ kind: 'postgres', url: await newDatabase() }) }));

  describe('batch storage: PostgreSQL shared by replicas', () => {
    it('replicas claiming at once take different lines, each line once', async () => {
      const url = await newDatabase();
      const replicas = [new BatchData({ kind: 'postgres', url }), new BatchData({ kind: 'postgres', url }), new BatchData({ kind: 'postgres', url })];
      try {
        // Three replicas migrate the new database together: the advisory lock lets one do it.
        const stores = await Promise.all(replicas.map(async (r) => (await r.open(false))!));
        const file = await stores[0].files.add('in.jsonl', 'batch', Buffer.from('x'));
        const batch = await stores[1].batches.create({ endpoint: '/v1/completions', inputFileId: file.id, completionWindow: '24h', windowSeconds: 600, model: null, metadata: null });
        const n = 60;
        await stores[2].batches.startRunning(batch.id, Array.from({ length: n }, (_, i) => ({ lineNumber: i + 1, customId: `c${i}`, url: '/v1/completions' as const, body: '{}' })));
        const claimed = await Promise.all(
          stores.map(async (s, r) => {
            const mine: number[] = [];
            for (;;) {
              const line = await s.batches.claimLine(batch.id, `replica-${r}`, 60_000, mine);
              if (!line) return mine;
              mine.push(line.index);
            }
          }),
        );
        const all = claimed.flat().sort((a, b) => a - b);
        expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(claimed.every((c) => c.length > 0)).toBe(true);
        expect(await stores[0].batches.backlog()).toBe(n);
        // Each replica answers its own lines; the counters add up across them.
        await Promise.all(
          stores.map((s, r) =>
            Promise.all(claimed[r].map((i) => s.batches.commitLine(batch.id, i, { succeeded: true, output: `{"custom_id":"c${i}"}`, inputTokens: 1, outputTokens: 2 }))),
          ),
        );
        expect(await stores[1].batches.get(batch.id)).toMatchObject({ counts: { total: n, completed: n, failed: 0 }, usage: { inputTokens: n, outputTokens: 2 * n } });
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
        await client.end();
        expect(rows.map((r) => r.version)).toEqual([1]);
      } finally {
        await Promise.all(replicas.map((r) => r.close()));
      }
    });

    it('an unreachable database is a clear error naming it without its password', async () => {
      const data = new BatchData({ kind: 'postgres', url: 'postgres://user:secret@127.0.0.1:1/nothing' });
      await expect(data.open(false)).rejects.toThrow(/^the batch database postgres:\/\/user:\*\*\*@127.0.0.1:1\/nothing could not be opened: .*ECONNREFUSED/);
      expect(data.where).toBe('postgres://user:***@127.0.0.1:1/nothing');
      await data.close();
    });
  });
}
