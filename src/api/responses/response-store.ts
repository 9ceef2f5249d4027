import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { ChatMessageInput } from '../chat/chat-messages.js';
import type { ResponseObject } from '../schemas/responses.js';

/** The SQLite file in the data directory; beside the batch database, which holds an exclusive lock on its own file. */
export const RESPONSES_DATABASE_FILE = 'responses.sqlite';

/** A kept response: what GET returns, and the conversation a later previous_response_id continues. */
export interface StoredResponse {
  response: ResponseObject;
  /** The whole conversation up to and including this response's output, in chat messages, instructions excluded. */
  conversation: ChatMessageInput[];
}

/**
 * Responses kept for GET /v1/responses/{id} and previous_response_id (OpenAI keeps them unless
 * the request says `store: false`). One table keyed by id; both columns are JSON text, written
 * once when the response finishes. The database is opened on first need, so a server that never
 * stores a response creates nothing on disk. Without a data directory it lives in memory (tests,
 * embedders) and is lost when the server stops.
 */
export class ResponseStore {
  private db: Database.Database | null = null;
  private readonly path: string;

  /** `dataDir` undefined: an in-memory database. */
  constructor(dataDir?: string) {
    this.path = dataDir === undefined ? ':memory:' : join(resolve(dataDir), RESPONSES_DATABASE_FILE);
  }

  save(stored: StoredResponse): void {
    this.open()
      .prepare('INSERT INTO responses (id, created_at, response, conversation) VALUES (?, ?, ?, ?)')
      .run(stored.response.id, stored.response.created_at, JSON.stringify(stored.response), JSON.stringify(stored.conversation));
  }

  /** The response with this id; null when none was stored (or the database does not exist yet). */
  get(id: string): StoredResponse | null {
    if (!this.exists()) return null;
    const row = this.open().prepare('SELECT response, conversation FROM responses WHERE id = ?').get(id) as
      | { response: string; conversation: string }
      | undefined;
    if (!row) return null;
    return { response: JSON.parse(row.response) as ResponseObject, conversation: JSON.parse(row.conversation) as ChatMessageInput[] };
  }

  /** Removes a response; false when there was none. Responses continued from it keep their own copies. */
  delete(id: string): boolean {
    if (!this.exists()) return false;
    return this.open().prepare('DELETE FROM responses WHERE id = ?').run(id).changes > 0;
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }

  /** Whether there can be anything to read: lookups alone never create the file. */
  private exists(): boolean {
    return this.db !== null || this.path === ':memory:' || existsSync(this.path);
  }

  private open(): Database.Database {
    if (this.db) return this.db;
    if (this.path !== ':memory:') mkdirSync(join(this.path, '..'), { recursive: true });
    const db = new Database(this.path, { timeout: 1000 });
    // WAL: GET reads never wait on a write; synchronous NORMAL is durable across a process crash,
    // which is what a conversation a client continues later needs (a lost power cut costs the last few).
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, response TEXT NOT NULL, conversation TEXT NOT NULL)');
    this.db = db;
    return db;
  }
}
