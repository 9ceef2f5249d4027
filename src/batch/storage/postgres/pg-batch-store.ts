import type pg from 'pg';
import type { BatchEndpoint } from '../../batch-endpoints.js';
import { newBatchId } from '../../batch-ids.js';
import { unixNow } from '../../unix-time.js';
import { ENDED_AT, toBatch, type BatchRow } from '../batch-row.js';
import { ENDING_FROM, type BatchEnding, type BatchError, type BatchLineInput, type BatchStatus, type BatchStore, type LineAnswer, type PendingLine, type StoredBatch, type NewBatch } from '../batch-store.js';
import type { StoredFile } from '../file-store.js';
import { inTransaction, NOW_MS } from './pg-database.js';
import { insertFileRow } from './pg-file-store.js';

/** Lines inserted per statement when a batch starts: 50,000 lines are 50 round trips. */
const INSERT_LINES = 1000;

/**
 * The BatchStore in PostgreSQL, shared by every replica (see BatchStore for the state machine).
 * Transactions run at READ COMMITTED; what makes them safe side by side:
 * - claimLine() picks its line with `FOR UPDATE SKIP LOCKED`, so replicas claiming at the same
 *   moment take different lines instead of queueing on one, and writes the lease in the same
 *   statement.
 * - commitLine() moves the batch's counters first, which locks the batch row, and only then
 *   answers the line; beginEnding() and finish() lock the batch row (`FOR UPDATE`) before they
 *   read it. So an answer and an ending never interleave: a line is either answered before the
 *   ending (and counted once) or left to the ending.
 */
export class PgBatchStore implements BatchStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(input: NewBatch): Promise<StoredBatch> {
    const now = unixNow();
    const { rows } = await this.pool.query<BatchRow>(
      `INSERT INTO batches (id, status, endpoint, input_file_id, completion_window, model, metadata, created_at, expires_at)
       VALUES ($1, 'validating', $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [newBatchId(), input.endpoint, input.inputFileId, input.completionWindow, input.model, input.metadata === null ? null : JSON.stringify(input.metadata), now, now + input.windowSeconds],
    );
    return toBatch(rows[0]);
  }

  async get(id: string): Promise<StoredBatch | undefined> {
    const { rows } = await this.pool.query<BatchRow>('SELECT * FROM batches WHERE id = $1', [id]);
    return rows[0] && toBatch(rows[0]);
  }

  async list(after: string | undefined, limit: number): Promise<{ batches: StoredBatch[]; hasMore: boolean }> {
    const { rows } =
      after === undefined
        ? await this.pool.query<BatchRow>('SELECT * FROM batches ORDER BY seq DESC LIMIT $1', [limit + 1])
        : await this.pool.query<BatchRow>('SELECT * FROM batches WHERE seq < coalesce((SELECT seq FROM batches WHERE id = $1), -1) ORDER BY seq DESC LIMIT $2', [after, limit + 1]);
    return { batches: rows.slice(0, limit).map(toBatch), hasMore: rows.length > limit };
  }

  async inStatus(...statuses: BatchStatus[]): Promise<StoredBatch[]> {
    const { rows } = await this.pool.query<BatchRow>('SELECT * FROM batches WHERE status = ANY($1::text[]) ORDER BY seq', [statuses]);
    return rows.map(toBatch);
  }

  async startRunning(id: string, lines: readonly BatchLineInput[]): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      // A second replica validating the same batch waits on this row lock, then finds it no longer validating.
      const moved = await client.query("UPDATE batches SET status = 'in_progress', in_progress_at = $1, total = $2 WHERE id = $3 AND status = 'validating'", [unixNow(), lines.length, id]);
      if (moved.rowCount === 0) return false;
      for (let start = 0; start < lines.length; start += INSERT_LINES) {
        const page = lines.slice(start, start + INSERT_LINES);
        await client.query(
          `INSERT INTO batch_lines (batch_id, line_index, line_number, custom_id, url, body, state)
           SELECT $1, i, n, c, u, b, 'pending' FROM unnest($2::int[], $3::int[], $4::text[], $5::text[], $6::text[]) AS t(i, n, c, u, b)`,
          [id, page.map((_, i) => start + i), page.map((l) => l.lineNumber), page.map((l) => l.customId), page.map((l) => l.url), page.map((l) => l.body)],
        );
      }
      return true;
    });
  }

  async failValidation(id: string, errors: readonly BatchError[]): Promise<boolean> {
    const { rowCount } = await this.pool.query("UPDATE batches SET status = 'failed', failed_at = $1, errors = $2 WHERE id = $3 AND status = 'validating'", [unixNow(), JSON.stringify(errors), id]);
    return rowCount === 1;
  }

  async requestCancel(id: string): Promise<StoredBatch | undefined> {
    await this.pool.query("UPDATE batches SET status = 'cancelling', cancelling_at = $1 WHERE id = $2 AND status IN ('validating', 'in_progress')", [unixNow(), id]);
    return this.get(id);
  }

  async claimLine(batchId: string, owner: string, leaseMs: number, exclude: readonly number[]): Promise<PendingLine | undefined> {
    const { rows } = await this.pool.query<{ line_index: number; line_number: number; custom_id: string; url: BatchEndpoint; body: string }>(
      `UPDATE batch_lines SET lease_owner = $2, lease_expires_at = ${NOW_MS} + $3
       WHERE batch_id = $1 AND line_index = (
         SELECT line_index FROM batch_lines
         WHERE batch_id = $1 AND state = 'pending'
           AND (lease_owner IS NULL OR lease_owner = $2 OR lease_expires_at < ${NOW_MS})
           AND NOT (line_index = ANY($4::int[]))
         ORDER BY line_index LIMIT 1
         FOR UPDATE SKIP LOCKED)
       RETURNING line_index, line_number, custom_id, url, body`,
      [batchId, owner, leaseMs, exclude],
    );
    const row = rows[0];
    return row && { batchId, index: row.line_index, lineNumber: row.line_number, customId: row.custom_id, url: row.url, body: row.body };
  }

  async renewLeases(owner: string, leaseMs: number): Promise<void> {
    await this.pool.query(`UPDATE batch_lines SET lease_expires_at = ${NOW_MS} + $2 WHERE lease_owner = $1 AND state = 'pending'`, [owner, leaseMs]);
  }

  async pendingCount(batchId: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>("SELECT count(*) AS n FROM batch_lines WHERE batch_id = $1 AND state = 'pending'", [batchId]);
    return rows[0].n;
  }

  async backlog(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>("SELECT coalesce(sum(total - completed - failed), 0)::bigint AS n FROM batches WHERE status = 'in_progress'");
    return rows[0].n;
  }

  async commitLine(batchId: string, index: number, answer: LineAnswer): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const counted = await client.query(
        `UPDATE batches SET completed = completed + $1, failed = failed + $2, input_tokens = input_tokens + $3, output_tokens = output_tokens + $4
         WHERE id = $5 AND status IN ('in_progress', 'cancelling') AND ending IS NULL`,
        [answer.succeeded ? 1 : 0, answer.succeeded ? 0 : 1, answer.inputTokens, answer.outputTokens, batchId],
      );
      if (counted.rowCount === 0) return false;
      const stored = await client.query(
        "UPDATE batch_lines SET state = $1, output = $2, lease_owner = NULL, lease_expires_at = NULL WHERE batch_id = $3 AND line_index = $4 AND state = 'pending'",
        [answer.succeeded ? 'succeeded' : 'failed', answer.output, batchId, index],
      );
      // Already answered (by a replica whose lease on it had not really ended): undo the counters.
      if (stored.rowCount === 0) throw new AlreadyAnswered();
      return true;
    }).catch((err: unknown) => {
      if (err instanceof AlreadyAnswered) return false;
      throw err;
    });
  }

  async beginEnding(id: string, ending: BatchEnding, unanswered: (line: { index: number; customId: string }) => string): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<BatchRow>('SELECT * FROM batches WHERE id = $1 FOR UPDATE', [id]);
      const batch = rows[0] && toBatch(rows[0]);
      if (!batch || batch.ending !== null || !ENDING_FROM[ending].includes(batch.status)) return false;
      const pending = await client.query<{ line_index: number; custom_id: string }>(
        "SELECT line_index, custom_id FROM batch_lines WHERE batch_id = $1 AND state = 'pending' ORDER BY line_index",
        [id],
      );
      if (ending === 'completed' && pending.rows.length > 0) return false;
      for (let start = 0; start < pending.rows.length; start += INSERT_LINES) {
        const page = pending.rows.slice(start, start + INSERT_LINES);
        await client.query(
          `UPDATE batch_lines l SET state = 'failed', output = t.o, lease_owner = NULL, lease_expires_at = NULL
           FROM unnest($2::int[], $3::text[]) AS t(i, o) WHERE l.batch_id = $1 AND l.line_index = t.i`,
          [id, page.map((r) => r.line_index), page.map((r) => unanswered({ index: r.line_index, customId: r.custom_id }))],
        );
      }
      const status: BatchStatus = ending === 'cancelled' ? 'cancelling' : 'finalizing';
      await client.query(
        "UPDATE batches SET ending = $1, status = $2, finalizing_at = CASE WHEN $2 = 'finalizing' THEN $3 ELSE finalizing_at END, failed = failed + $4 WHERE id = $5",
        [ending, status, unixNow(), pending.rows.length, id],
      );
      return true;
    });
  }

  async answeredLines(batchId: string, afterIndex: number, limit: number): Promise<{ index: number; succeeded: boolean; output: string }[]> {
    const { rows } = await this.pool.query<{ line_index: number; state: 'succeeded' | 'failed'; output: string }>(
      "SELECT line_index, state, output FROM batch_lines WHERE batch_id = $1 AND line_index > $2 AND state <> 'pending' ORDER BY line_index LIMIT $3",
      [batchId, afterIndex, limit],
    );
    return rows.map((row) => ({ index: row.line_index, succeeded: row.state === 'succeeded', output: row.output }));
  }

  async finish(id: string, outputFile: StoredFile | null, errorFile: StoredFile | null): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<BatchRow>('SELECT * FROM batches WHERE id = $1 FOR UPDATE', [id]);
      const batch = rows[0] && toBatch(rows[0]);
      if (!batch || batch.ending === null || batch.status === batch.ending) return false;
      if (outputFile) await insertFileRow(client, outputFile);
      if (errorFile) await insertFileRow(client, errorFile);
      await client.query(`UPDATE batches SET status = ending, ${ENDED_AT[batch.ending]} = $1, output_file_id = $2, error_file_id = $3 WHERE id = $4`, [
        unixNow(),
        outputFile?.id ?? null,
        errorFile?.id ?? null,
        id,
      ]);
      return true;
    });
  }
}

/** Rolls back commitLine's counters when the line turned out to be answered already. */
class AlreadyAnswered extends Error {}
