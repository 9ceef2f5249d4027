import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { ServeError } from '../../errors.js';
import type { PromptTemplate } from '../conversation.js';

/** The user's own prompt templates; the built-in ones are code (templates/built-in-templates.ts). */
export class TemplateStore {
  constructor(private readonly db: Database.Database) {}

  /** Oldest first: the order they were added in. */
  list(): PromptTemplate[] {
    const rows = this.db.prepare('SELECT id, name, prompt FROM templates ORDER BY created_at, rowid').all() as Omit<PromptTemplate, 'builtin'>[];
    return rows.map((row) => ({ ...row, builtin: false }));
  }

  add(name: string, prompt: string): PromptTemplate {
    const id = `tmpl_${randomUUID().replace(/-/g, '')}`;
    this.db.prepare('INSERT INTO templates (id, name, prompt, created_at) VALUES (?, ?, ?, ?)').run(id, name, prompt, Math.floor(Date.now() / 1000));
    return { id, name, prompt, builtin: false };
  }

  delete(id: string): void {
    const { changes } = this.db.prepare('DELETE FROM templates WHERE id = ?').run(id);
    if (changes === 0) throw new ServeError('not_found_error', `no template ${id} of yours (built-in templates cannot be deleted)`, { param: 'id', code: 'template_not_found' });
  }
}
