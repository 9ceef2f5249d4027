import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ServeError } from '../src/errors.js';
import { BatchData } from '../src/batch/storage/batch-data.js';
import { DATABASE_FILE } from '../src/batch/storage/sqlite/sqlite-database.js';
import type { SqliteFileStore } from '../src/batch/storage/sqlite/sqlite-file-store.js';
import { describeBatchStorage } from './helpers/batch-store-suite.js';

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'batch-store-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describeBatchStorage('SQLite', () => ({ location: async () => ({ kind: 'sqlite', dataDir: dataDir() }) }));

/** What only the SQLite store does: lazy creation, the lock, content files on disk, migrations. */
describe('batch storage: SQLite data directory', () => {
  const opened: BatchData[] = [];
  afterEach(async () => {
    for (const data of opened.splice(0)) await data.close();
  });

  const sqlite = (dir: string) => {
    const data = new BatchData({ kind: 'sqlite', dataDir: dir });
    opened.push(data);
    return data;
  };

  it('creates nothing until asked, then holds the data directory exclusively until closed', async () => {
    const dir = dataDir();
    expect(await sqlite(dir).open(false)).toBeNull();
    expect(existsSync(join(dir, DATABASE_FILE))).toBe(false);

    const first = sqlite(dir);
    expect(await first.open(true)).not.toBeNull();
    const refusal = await sqlite(dir).open(false).catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(ServeError);
    expect(refusal).toMatchObject({ type: 'service_unavailable', code: 'data_dir_locked' });
    await first.close();
    expect(await sqlite(dir).open(false)).not.toBeNull();
  });

  it('on opening, removes content files that no row names (a crash between writing bytes and inserting the row)', async () => {
    const dir = dataDir();
    const data = sqlite(dir);
    const stores = (await data.open(true))!;
    const kept = await stores.files.add('in.jsonl', 'batch', Buffer.from('kept\n'));
    const folder = (stores.files as SqliteFileStore).folder;
    writeFileSync(join(folder, 'file-orphan.jsonl'), 'orphan');
    writeFileSync(join(folder, 'file-half.jsonl.tmp'), 'half');
    await data.close();
    const reopened = (await sqlite(dir).open(false))!;
    expect(readdirSync(folder)).toEqual([`${kept.id}.jsonl`]);
    expect(readFileSync((reopened.files as SqliteFileStore).contentPath(kept.id), 'utf8')).toBe('kept\n');
  });

  it('migrates a version-1 database (before leases) and keeps its batches; refuses a newer one', async () => {
    const dir = dataDir();
    const data = sqlite(dir);
    const stores = (await data.open(true))!;
    const file = await stores.files.add('in.jsonl', 'batch', Buffer.from('x'));
    const batch = await stores.batches.create({ endpoint: '/v1/completions', inputFileId: file.id, completionWindow: '24h', windowSeconds: 60, model: null, metadata: null });
    await stores.batches.startRunning(batch.id, [{ lineNumber: 1, customId: 'a', url: '/v1/completions', body: '{}' }]);
    await data.close();
    // Back to version 1 as an older qwen3-serve left it: no lease columns.
    const raw = new Database(join(dir, DATABASE_FILE));
    raw.exec('ALTER TABLE batch_lines DROP COLUMN lease_owner; ALTER TABLE batch_lines DROP COLUMN lease_expires_at');
    raw.pragma('user_version = 1');
    raw.close();

    const migrated = (await sqlite(dir).open(false))!;
    expect((await migrated.batches.claimLine(batch.id, 'me', 1000, []))?.customId).toBe('a');
    await opened.pop()!.close();
    const newer = new Database(join(dir, DATABASE_FILE));
    expect(newer.pragma('user_version', { simple: true })).toBe(2);
    newer.pragma('user_version = 99');
    newer.close();
    await expect(sqlite(dir).open(false)).rejects.toThrow(/schema version 99; this qwen3-serve knows versions up to 2/);
  });
});
