import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ServeError } from '../../../errors.js';

/** The SQLite file inside the data directory. */
export const DATABASE_FILE = 'batches.sqlite';

/**
 * The schema, as migrations applied in order; `PRAGMA user_version` says how many are on disk.
 * A database written by an older qwen3-serve is brought up to date when opened; one written by a
 * newer one is refused. Append a migration, never edit one that shipped.
 * - files: metadata of uploaded and generated files; their bytes live in `files/<id>.jsonl`
 *   beside the database (see SqliteFileStore for why).
 * - batches: one row per batch with its status, timestamps, live counters and, once it ends,
 *   its output and error file ids. `ending` is the terminal status it is being finalized to.
 * - batch_lines: the requests of a batch, copied from the input file when the batch is
 *   validated, with each line's state and, once answered, its output line. The primary key
 *   (batch_id, line_index) is what makes every line appear at most once in the output.
 * - 2: each line's lease (who runs it, until when in Unix milliseconds), as in the PostgreSQL
 *   store, so one executor serves both.
 */
const MIGRATIONS: readonly string[] = [
  `
CREATE TABLE files (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  filename TEXT NOT NULL,
  purpose TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE batches (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL CHECK (status IN ('validating', 'failed', 'in_progress', 'finalizing', 'completed', 'expired', 'cancelling', 'cancelled')),
  ending TEXT CHECK (ending IN ('completed', 'expired', 'cancelled')),
  endpoint TEXT NOT NULL,
  input_file_id TEXT NOT NULL,
  completion_window TEXT NOT NULL,
  model TEXT,
  metadata TEXT,
  errors TEXT,
  output_file_id TEXT,
  error_file_id TEXT,
  total INTEGER NOT NULL DEFAULT 0,
  completed INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  in_progress_at INTEGER,
  finalizing_at INTEGER,
  completed_at INTEGER,
  failed_at INTEGER,
  expired_at INTEGER,
  cancelling_at INTEGER,
  cancelled_at INTEGER
);
CREATE TABLE batch_lines (
  batch_id TEXT NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
  line_index INTEGER NOT NULL,
  line_number INTEGER NOT NULL,
  custom_id TEXT NOT NULL,
  url TEXT NOT NULL,
  body TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
  output TEXT,
  PRIMARY KEY (batch_id, line_index)
) WITHOUT ROWID;
CREATE INDEX batch_lines_by_state ON batch_lines (batch_id, state, line_index);
`,
  `
ALTER TABLE batch_lines ADD COLUMN lease_owner TEXT;
ALTER TABLE batch_lines ADD COLUMN lease_expires_at INTEGER;
`,
];

/**
 * Opens (creating when asked) the data directory's database: WAL journal, synchronous=FULL (a
 * committed line result survives a power cut, not only a crash: it is never run twice), and an
 * exclusive lock held for the life of the connection, so a second server on the same data
 * directory fails at once instead of running the same lines. The OS drops the lock when the
 * process dies, SIGKILL included, so a restarted server can open it again.
 * Returns null when the database does not exist and `create` is false.
 */
export function openBatchDatabase(dataDir: string, create: boolean): Database.Database | null {
  const path = join(dataDir, DATABASE_FILE);
  if (!create && !existsSync(path)) return null;
  mkdirSync(dataDir, { recursive: true });
  // A second opener gives up after a second rather than better-sqlite3's default five.
  const db = new Database(path, { timeout: 1000 });
  try {
    // Exclusive locking before the first WAL access: no shared-memory index, and the lock is
    // taken by the first access below and never released while the connection lives.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    lockAndMigrate(db, path);
    return db;
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
      throw new ServeError('service_unavailable', `the batch database ${path} is in use by another process (another qwen3-serve on the same --data-dir?)`, {
        code: 'data_dir_locked',
      });
    }
    throw err;
  }
}

/**
 * Takes the lock, applies the migrations the file lacks, and drops every lease: the lock means
 * no other process runs lines of this database, so a lease left is one of a server that died.
 */
function lockAndMigrate(db: Database.Database, path: string): void {
  db.exec('BEGIN EXCLUSIVE');
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new Error(`${path} has schema version ${version}; this qwen3-serve knows versions up to ${MIGRATIONS.length}`);
    }
    for (let next = version; next < MIGRATIONS.length; next++) db.exec(MIGRATIONS[next]);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
    db.exec("UPDATE batch_lines SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner IS NOT NULL");
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}
