import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { openBatchDatabase } from './batch-database.js';
import { BatchStore } from './batch-store.js';
import { FileStore } from './file-store.js';

export interface BatchStores {
  files: FileStore;
  batches: BatchStore;
}

/**
 * The data directory (`--data-dir`), opened on first need: a server that never receives a file
 * creates nothing on disk, and two servers started in the same folder (tests, a user's second
 * instance) only contend for the lock once one of them really uses batches. Once open, the
 * database stays open (and locked) until close().
 */
export class BatchData {
  readonly dir: string;
  private db: Database.Database | null = null;
  private stores: BatchStores | null = null;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** The stores; null when the database does not exist yet and `create` is false. */
  open(create: boolean): BatchStores | null {
    if (this.stores) return this.stores;
    const db = openBatchDatabase(this.dir, create);
    if (db === null) return null;
    const files = new FileStore(db, this.dir);
    files.sweepOrphans();
    this.db = db;
    this.stores = { files, batches: new BatchStore(db) };
    return this.stores;
  }

  get isOpen(): boolean {
    return this.stores !== null;
  }

  close(): void {
    this.db?.close();
    this.db = null;
    this.stores = null;
  }
}
