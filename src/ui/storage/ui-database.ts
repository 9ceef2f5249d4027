import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** The chat page's SQLite file in the data directory, beside (not inside) the batch database, which its server locks exclusively. */
export const UI_DATABASE_FILE = 'ui.sqlite';

/**
 * Tables (one schema version, `PRAGMA user_version`):
 * - conversations: one row per conversation; its messages and parameters are JSON, since the
 *   page always reads and writes a conversation whole and never queries inside it.
 * - templates: the user's own prompt templates (the built-in ones live in the code).
 */
const SCHEMA_VERSION = 1;
const SCHEMA = `
CREATE TABLE conversations (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  system_prompt TEXT NOT NULL,
  params TEXT NOT NULL,
  messages TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX conversations_by_update ON conversations (updated_at DESC);
CREATE TABLE templates (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  prompt TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
`;

/**
 * Opens (creating) `ui.sqlite` in `dataDir`, or an in-memory database when there is none (a
 * server started without a data directory keeps conversations until it stops). WAL with
 * synchronous=NORMAL: a conversation is cheap to lose on a power cut, unlike a batch line, and
 * each save should not wait for the disk.
 */
export function openUiDatabase(dataDir: string | undefined): Database.Database {
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
  const db = new Database(dataDir === undefined ? ':memory:' : join(dataDir, UI_DATABASE_FILE), { timeout: 1000 });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === SCHEMA_VERSION) return;
  if (version !== 0) throw new Error(`${db.name} has schema version ${version}; this qwen3-serve knows version ${SCHEMA_VERSION}`);
  db.transaction(() => {
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}
