import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import type pg from 'pg';
import type { BatchStore } from './batch-store.js';
import type { FileStore } from './file-store.js';
import { openPgDatabase, redactedUrl } from './postgres/pg-database.js';
import { PgBatchStore } from './postgres/pg-batch-store.js';
import { PgFileStore } from './postgres/pg-file-store.js';
import { SqliteBatchStore } from './sqlite/sqlite-batch-store.js';
import { openBatchDatabase } from './sqlite/sqlite-database.js';
import { SqliteFileStore } from './sqlite/sqlite-file-store.js';

export interface BatchStores {
  files: FileStore;
  batches: BatchStore;
}

/** Where batches live: the embedded SQLite in a data directory, or a PostgreSQL database replicas share. */
export type BatchLocation = { kind: 'sqlite'; dataDir: string } | { kind: 'postgres'; url: string };

/**
 * The batch database, opened on first need. SQLite: a server that never receives a file creates
 * nothing on disk, and two servers started in the same folder only contend for the lock once one
 * of them really uses batches; once open, the database stays open (and locked) until close().
 * PostgreSQL: connected (and migrated) on the first open whatever `create` says, since the
 * database is shared and exists already.
 */
export class BatchData {
  /** Where the data is, for logs and errors (a PostgreSQL URL without its password). */
  readonly where: string;
  private sqlite: Database.Database | null = null;
  private pool: pg.Pool | null = null;
  private stores: BatchStores | null = null;
  private opening: Promise<BatchStores> | null = null;

  constructor(readonly location: BatchLocation) {
    this.where = location.kind === 'sqlite' ? resolve(location.dataDir) : redactedUrl(location.url);
  }

  /** The stores; null when the SQLite database does not exist yet and `create` is false. */
  async open(create: boolean): Promise<BatchStores | null> {
    if (this.stores) return this.stores;
    if (this.location.kind === 'sqlite') return this.openSqlite(create);
    // Concurrent first calls share one pool.
    this.opening ??= this.openPostgres(this.location.url).finally(() => (this.opening = null));
    return this.opening;
  }

  private openSqlite(create: boolean): BatchStores | null {
    const db = openBatchDatabase(this.where, create);
    if (db === null) return null;
    const files = new SqliteFileStore(db, this.where);
    files.sweepOrphans();
    this.sqlite = db;
    this.stores = { files, batches: new SqliteBatchStore(db) };
    return this.stores;
  }

  private async openPostgres(url: string): Promise<BatchStores> {
    const pool = await openPgDatabase(url).catch((err: Error) => {
      throw new Error(`the batch database ${this.where} could not be opened: ${err.message}`, { cause: err });
    });
    const files = new PgFileStore(pool);
    await files.sweepOrphans();
    this.pool = pool;
    this.stores = { files, batches: new PgBatchStore(pool) };
    return this.stores;
  }

  get isOpen(): boolean {
    return this.stores !== null;
  }

  async close(): Promise<void> {
    this.sqlite?.close();
    this.sqlite = null;
    const pool = this.pool;
    this.pool = null;
    this.stores = null;
    await pool?.end();
  }
}
