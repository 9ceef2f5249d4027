import type Database from 'better-sqlite3';
import type { BatchEndpoint } from '../../batch-endpoints.js';
import { newBatchId } from '../../batch-ids.js';
import { unixNow } from '../../unix-time.js';
import { ENDED_AT, toBatch, type BatchRow } from '../batch-row.js';
import { ENDING_FROM, type BatchEnding, type BatchError, type BatchLineInput, type BatchStatus, type BatchStore, type LineAnswer, type PendingLine, type StoredBatch, type NewBatch } from '../batch-store.js';
import type { StoredFile } from '../file-store.js';
import { insertFileRow } from './sqlite-file-store.js';

/**
 * The BatchStore in the data directory's SQLite database (see BatchStore for the state machine).
 * better-sqlite3 is synchronous: each method does its work before its promise is returned, and
 * every transaction runs without yielding, so no other call interleaves with it. One server holds
 * the database (its exclusive lock), so leases only matter within this process and across its
 * restarts; they are timed by this machine's clock.
 */
export class SqliteBatchStore implements BatchStore {
  constructor(private readonly db: Database.Database) {}

  async create(input: NewBatch): Promise<StoredBatch> {
    const id = newBatchId();
    const now = unixNow();
    this.db
      .prepare(
        `INSERT INTO batches (id, status, endpoint, input_file_id, completion_window, model, metadata, created_at, expires_at)
         VALUES (?, 'validating', ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(id, input.endpoint, input.inputFileId, input.completionWindow, input.model, input.metadata === null ? null : JSON.stringify(input.metadata), now, now + input.windowSeconds);
    return this.getNow(id)!;
  }

  async get(id: string): Promise<StoredBatch | undefined> {
    return this.getNow(id);
  }

  private getNow(id: string): StoredBatch | undefined {
    const row = this.db.prepare('SELECT * FROM batches WHERE id = ?').get(id) as BatchRow | undefined;
    return row && toBatch(row);
  }

  async list(after: string | undefined, limit: number): Promise<{ batches: StoredBatch[]; hasMore: boolean }> {
    const rows = (
      after === undefined
        ? this.db.prepare('SELECT * FROM batches ORDER BY seq DESC LIMIT ?').all(limit + 1)
        : this.db.prepare('SELECT * FROM batches WHERE seq < coalesce((SELECT seq FROM batches WHERE id = ?), -1) ORDER BY seq DESC LIMIT ?').all(after, limit + 1)
    ) as BatchRow[];
    return { batches: rows.slice(0, limit).map(toBatch), hasMore: rows.length > limit };
  }

  async inStatus(...statuses: BatchStatus[]): Promise<StoredBatch[]> {
    const rows = this.db.prepare(`SELECT * FROM batches WHERE status IN (${statuses.map(() => '?').join(', ')}) ORDER BY seq`).all(...statuses) as BatchRow[];
    return rows.map(toBatch);
  }

  async startRunning(id: string, lines: readonly BatchLineInput[]): Promise<boolean> {
    return this.db.transaction(() => {
      const moved = this.db
        .prepare("UPDATE batches SET status = 'in_progress', in_progress_at = ?, total = ? WHERE id = ? AND status = 'validating'")
        .run(unixNow(), lines.length, id);
      if (moved.changes === 0) return false;
      const insert = this.db.prepare(
        "INSERT INTO batch_lines (batch_id, line_index, line_number, custom_id, url, body, state) VALUES (?, ?, ?, ?, ?, ?, 'pending')",
      );
      lines.forEach((line, index) => insert.run(id, index, line.lineNumber, line.customId, line.url, line.body));
      return true;
    })();
  }

  async failValidation(id: string, errors: readonly BatchError[]): Promise<boolean> {
    const { changes } = this.db
      .prepare("UPDATE batches SET status = 'failed', failed_at = ?, errors = ? WHERE id = ? AND status = 'validating'")
      .run(unixNow(), JSON.stringify(errors), id);
    return changes === 1;
  }

  async requestCancel(id: string): Promise<StoredBatch | undefined> {
    this.db.prepare("UPDATE batches SET status = 'cancelling', cancelling_at = ? WHERE id = ? AND status IN ('validating', 'in_progress')").run(unixNow(), id);
    return this.getNow(id);
  }

  async claimLine(batchId: string, owner: string, leaseMs: number, exclude: readonly number[]): Promise<PendingLine | undefined> {
    const now = Date.now();
    const row = this.db
      .prepare(
        `UPDATE batch_lines SET lease_owner = ?, lease_expires_at = ?
         WHERE batch_id = ? AND line_index = (
           SELECT line_index FROM batch_lines
           WHERE batch_id = ? AND state = 'pending'
             AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires_at < ?)
             AND line_index NOT IN (SELECT value FROM json_each(?))
           ORDER BY line_index LIMIT 1)
         RETURNING line_index, line_number, custom_id, url, body`,
      )
      .get(owner, now + leaseMs, batchId, batchId, owner, now, JSON.stringify(exclude)) as
      | { line_index: number; line_number: number; custom_id: string; url: BatchEndpoint; body: string }
      | undefined;
    return row && { batchId, index: row.line_index, lineNumber: row.line_number, customId: row.custom_id, url: row.url, body: row.body };
  }

  async renewLeases(owner: string, leaseMs: number): Promise<void> {
    this.db.prepare("UPDATE batch_lines SET lease_expires_at = ? WHERE lease_owner = ? AND state = 'pending'").run(Date.now() + leaseMs, owner);
  }

  async pendingCount(batchId: string): Promise<number> {
    return this.db.prepare("SELECT count(*) FROM batch_lines WHERE batch_id = ? AND state = 'pending'").pluck().get(batchId) as number;
  }

  async backlog(): Promise<number> {
    return this.db.prepare("SELECT coalesce(sum(total - completed - failed), 0) FROM batches WHERE status = 'in_progress'").pluck().get() as number;
  }

  async commitLine(batchId: string, index: number, answer: LineAnswer): Promise<boolean> {
    return this.db.transaction(() => {
      const taking = this.db.prepare("SELECT 1 FROM batches WHERE id = ? AND status IN ('in_progress', 'cancelling') AND ending IS NULL").get(batchId);
      if (!taking) return false;
      const stored = this.db
        .prepare("UPDATE batch_lines SET state = ?, output = ?, lease_owner = NULL, lease_expires_at = NULL WHERE batch_id = ? AND line_index = ? AND state = 'pending'")
        .run(answer.succeeded ? 'succeeded' : 'failed', answer.output, batchId, index);
      if (stored.changes === 0) return false;
      this.db
        .prepare(
          `UPDATE batches SET completed = completed + ?, failed = failed + ?, input_tokens = input_tokens + ?, output_tokens = output_tokens + ? WHERE id = ?`,
        )
        .run(answer.succeeded ? 1 : 0, answer.succeeded ? 0 : 1, answer.inputTokens, answer.outputTokens, batchId);
      return true;
    })();
  }

  async beginEnding(id: string, ending: BatchEnding, unanswered: (line: { index: number; customId: string }) => string): Promise<boolean> {
    return this.db.transaction(() => {
      const batch = this.getNow(id);
      if (!batch || batch.ending !== null) return false;
      if (!ENDING_FROM[ending].includes(batch.status)) return false;
      const pending = this.db
        .prepare("SELECT line_index, custom_id FROM batch_lines WHERE batch_id = ? AND state = 'pending' ORDER BY line_index")
        .all(id) as { line_index: number; custom_id: string }[];
      if (ending === 'completed' && pending.length > 0) return false;
      const answer = this.db.prepare("UPDATE batch_lines SET state = 'failed', output = ?, lease_owner = NULL, lease_expires_at = NULL WHERE batch_id = ? AND line_index = ?");
      for (const row of pending) answer.run(unanswered({ index: row.line_index, customId: row.custom_id }), id, row.line_index);
      const status: BatchStatus = ending === 'cancelled' ? 'cancelling' : 'finalizing';
      this.db
        .prepare('UPDATE batches SET ending = ?, status = ?, finalizing_at = CASE WHEN ? = \'finalizing\' THEN ? ELSE finalizing_at END, failed = failed + ? WHERE id = ?')
        .run(ending, status, status, unixNow(), pending.length, id);
      return true;
    })();
  }

  async answeredLines(batchId: string, afterIndex: number, limit: number): Promise<{ index: number; succeeded: boolean; output: string }[]> {
    const rows = this.db
      .prepare("SELECT line_index, state, output FROM batch_lines WHERE batch_id = ? AND line_index > ? AND state != 'pending' ORDER BY line_index LIMIT ?")
      .all(batchId, afterIndex, limit) as { line_index: number; state: 'succeeded' | 'failed'; output: string }[];
    return rows.map((row) => ({ index: row.line_index, succeeded: row.state === 'succeeded', output: row.output }));
  }

  async finish(id: string, outputFile: StoredFile | null, errorFile: StoredFile | null): Promise<boolean> {
    return this.db.transaction(() => {
      const batch = this.getNow(id);
      if (!batch || batch.ending === null || batch.status === batch.ending) return false;
      if (outputFile) insertFileRow(this.db, outputFile);
      if (errorFile) insertFileRow(this.db, errorFile);
      this.db
        .prepare(`UPDATE batches SET status = ending, ${ENDED_AT[batch.ending]} = ?, output_file_id = ?, error_file_id = ? WHERE id = ?`)
        .run(unixNow(), outputFile?.id ?? null, errorFile?.id ?? null, id);
      return true;
    })();
  }
}
