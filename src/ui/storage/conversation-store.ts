import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { ServeError } from '../../errors.js';
import type { ChatMessage, ChatParameters, Conversation, ConversationFields, ConversationSummary } from '../conversation.js';
import { DEFAULT_PARAMETERS } from '../default-parameters.js';

interface ConversationRow {
  id: string;
  title: string;
  system_prompt: string;
  params: string;
  messages: string;
  created_at: number;
  updated_at: number;
}

/** The title of a conversation nobody named yet. */
export const UNTITLED = 'New chat';

const unixSeconds = () => Math.floor(Date.now() / 1000);

/** The chat page's conversations in its SQLite database: whole conversations in, whole ones out. */
export class ConversationStore {
  constructor(private readonly db: Database.Database) {}

  /** Newest change first. */
  list(): ConversationSummary[] {
    return this.db.prepare('SELECT id, title, updated_at FROM conversations ORDER BY updated_at DESC, rowid DESC').all() as ConversationSummary[];
  }

  get(id: string): Conversation {
    const row = this.db.prepare('SELECT * FROM conversations WHERE id = ?').get(id) as ConversationRow | undefined;
    if (!row) throw new ServeError('not_found_error', `no conversation ${id}`, { param: 'id', code: 'conversation_not_found' });
    return {
      ...row,
      params: JSON.parse(row.params) as ChatParameters,
      messages: JSON.parse(row.messages) as ChatMessage[],
    };
  }

  create(fields: ConversationFields): Conversation {
    const now = unixSeconds();
    const id = `conv_${randomUUID().replace(/-/g, '')}`;
    this.db
      .prepare('INSERT INTO conversations (id, title, system_prompt, params, messages, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(
        id,
        fields.title ?? UNTITLED,
        fields.system_prompt ?? '',
        JSON.stringify(fields.params ?? DEFAULT_PARAMETERS),
        JSON.stringify(fields.messages ?? []),
        now,
        now,
      );
    return this.get(id);
  }

  /** Replaces the fields given, keeps the others. */
  update(id: string, fields: ConversationFields): Conversation {
    const current = this.get(id);
    this.db
      .prepare('UPDATE conversations SET title = ?, system_prompt = ?, params = ?, messages = ?, updated_at = ? WHERE id = ?')
      .run(
        fields.title ?? current.title,
        fields.system_prompt ?? current.system_prompt,
        JSON.stringify(fields.params ?? current.params),
        JSON.stringify(fields.messages ?? current.messages),
        // Never earlier than the last change, so "newest first" holds even if the clock steps back.
        Math.max(unixSeconds(), current.updated_at),
        id,
      );
    return this.get(id);
  }

  delete(id: string): void {
    const { changes } = this.db.prepare('DELETE FROM conversations WHERE id = ?').run(id);
    if (changes === 0) throw new ServeError('not_found_error', `no conversation ${id}`, { param: 'id', code: 'conversation_not_found' });
  }
}
