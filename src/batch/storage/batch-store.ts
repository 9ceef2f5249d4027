import type Database from 'better-sqlite3';
import type { BatchEndpoint } from '../batch-endpoints.js';
import { newBatchId } from '../batch-ids.js';
import { unixNow } from '../unix-time.js';
import type { FileStore, StoredFile } from './file-store.js';

export type BatchStatus = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';
/** The terminal status a batch is finalized to. */
export type BatchEnding = 'completed' | 'expired' | 'cancelled';

/** Why a batch failed validation (OpenAI's `errors.data` items). */
export interface BatchError {
  code: string;
  /** 1-based line of the input file, when one line is at fault. */
  line: number | null;
  message: string;
  param: string | null;
}

export interface StoredBatch {
  id: string;
  status: BatchStatus;
  ending: BatchEnding | null;
  endpoint: BatchEndpoint;
  inputFileId: string;
  completionWindow: string;
  model: string | null;
  metadata: Record<string, string> | null;
  errors: BatchError[] | null;
  outputFileId: string | null;
  errorFileId: string | null;
  counts: { total: number; completed: number; failed: number };
  usage: { inputTokens: number; outputTokens: number };
  /** Unix seconds; null until the batch got there. */
  times: {
    createdAt: number;
    expiresAt: number;
    inProgressAt: number | null;
    finalizingAt: number | null;
    completedAt: number | null;
    failedAt: number | null;
    expiredAt: number | null;
    cancellingAt: number | null;
    cancelledAt: number | null;
  };
}

/** One request of a batch, as copied from its input file. */
export interface BatchLineInput {
  /** 1-based line of the input file. */
  lineNumber: number;
  customId: string;
  url: BatchEndpoint;
  /** The request body as JSON text. */
  body: string;
}

export interface PendingLine extends BatchLineInput {
  batchId: string;
  /** 0-based position among the batch's requests: the output order. */
  index: number;
}

/** A line's answer: its whole output line (JSON text) and what it adds to the batch's counters. */
export interface LineAnswer {
  succeeded: boolean;
  output: string;
  inputTokens: number;
  outputTokens: number;
}

interface BatchRow {
  id: string;
  status: BatchStatus;
  ending: BatchEnding | null;
  endpoint: BatchEndpoint;
  input_file_id: string;
  completion_window: string;
  model: string | null;
  metadata: string | null;
  errors: string | null;
  output_file_id: string | null;
  error_file_id: string | null;
  total: number;
  completed: number;
  failed: number;
  input_tokens: number;
  output_tokens: number;
  created_at: number;
  expires_at: number;
  in_progress_at: number | null;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
}

function toBatch(row: BatchRow): StoredBatch {
  return {
    id: row.id,
    status: row.status,
    ending: row.ending,
    endpoint: row.endpoint,
    inputFileId: row.input_file_id,
    completionWindow: row.completion_window,
    model: row.model,
    metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as Record<string, string>),
    errors: row.errors === null ? null : (JSON.parse(row.errors) as BatchError[]),
    outputFileId: row.output_file_id,
    errorFileId: row.error_file_id,
    counts: { total: row.total, completed: row.completed, failed: row.failed },
    usage: { inputTokens: row.input_tokens, outputTokens: row.output_tokens },
    times: {
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      inProgressAt: row.in_progress_at,
      finalizingAt: row.finalizing_at,
      completedAt: row.completed_at,
      failedAt: row.failed_at,
      expiredAt: row.expired_at,
      cancellingAt: row.cancelling_at,
      cancelledAt: row.cancelled_at,
    },
  };
}

/** The column holding the time a batch reached each terminal status. */
const ENDED_AT: Record<BatchEnding, string> = { completed: 'completed_at', expired: 'expired_at', cancelled: 'cancelled_at' };

/**
 * Batches and their lines. Every state change is one transaction, so what a crash leaves is
 * always a state the executor resumes from:
 *
 *   validating --startRunning--> in_progress --beginEnding(completed|expired)--> finalizing --finish--> completed|expired
 *        |                           |
 *        |--failValidation--> failed  '--requestCancel--> cancelling --beginEnding(cancelled)--> (cancelling) --finish--> cancelled
 *        '--requestCancel--> cancelling
 *
 * A line is `pending` until commitLine() stores its answer, once: the update is conditional on
 * the line still being pending and the batch still taking answers, and it moves the batch's
 * counters in the same transaction. A line whose answer is committed is never run again; a line
 * running when the process died is still pending and runs again. beginEnding() answers every
 * line still pending (cancelled or expired) in the same transaction that records the ending, so
 * once a batch has an ending no line is pending and the output files can be written from the
 * committed answers alone.
 */
export class BatchStore {
  constructor(private readonly db: Database.Database) {}

  create(input: {
    endpoint: BatchEndpoint;
    inputFileId: string;
    completionWindow: string;
    windowSeconds: number;
    model: string | null;
    metadata: Record<string, string> | null;
  }): StoredBatch {
    const id = newBatchId();
    const now = unixNow();
    this.db
      .prepare(
        `INSERT INTO batches (id, status, endpoint, input_file_id, completion_window, model, metadata, created_at, expires_at)
         VALUES (?, 'validating', ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(id, input.endpoint, input.inputFileId, input.completionWindow, input.model, input.metadata === null ? null : JSON.stringify(input.metadata), now, now + input.windowSeconds);
    return this.get(id)!;
  }

  get(id: string): StoredBatch | undefined {
    const row = this.db.prepare('SELECT * FROM batches WHERE id = ?').get(id) as BatchRow | undefined;
    return row && toBatch(row);
  }

  /** A page of batches, newest first, after the batch `after` (an unknown cursor gives none). */
  list(after: string | undefined, limit: number): { batches: StoredBatch[]; hasMore: boolean } {
    const rows = (
      after === undefined
        ? this.db.prepare('SELECT * FROM batches ORDER BY seq DESC LIMIT ?').all(limit + 1)
        : this.db.prepare('SELECT * FROM batches WHERE seq < coalesce((SELECT seq FROM batches WHERE id = ?), -1) ORDER BY seq DESC LIMIT ?').all(after, limit + 1)
    ) as BatchRow[];
    return { batches: rows.slice(0, limit).map(toBatch), hasMore: rows.length > limit };
  }

  /** Batches in the given statuses, oldest first (the order the executor works in). */
  inStatus(...statuses: BatchStatus[]): StoredBatch[] {
    const rows = this.db.prepare(`SELECT * FROM batches WHERE status IN (${statuses.map(() => '?').join(', ')}) ORDER BY seq`).all(...statuses) as BatchRow[];
    return rows.map(toBatch);
  }

  /** validating -> in_progress with its lines. False (nothing written) if it is no longer validating. */
  startRunning(id: string, lines: readonly BatchLineInput[]): boolean {
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

  /** validating -> failed, with the reasons. */
  failValidation(id: string, errors: readonly BatchError[]): boolean {
    const { changes } = this.db
      .prepare("UPDATE batches SET status = 'failed', failed_at = ?, errors = ? WHERE id = ? AND status = 'validating'")
      .run(unixNow(), JSON.stringify(errors), id);
    return changes === 1;
  }

  /** validating or in_progress -> cancelling. Returns the batch as it now is (unchanged if it was past that). */
  requestCancel(id: string): StoredBatch | undefined {
    this.db.prepare("UPDATE batches SET status = 'cancelling', cancelling_at = ? WHERE id = ? AND status IN ('validating', 'in_progress')").run(unixNow(), id);
    return this.get(id);
  }

  /** The first pending line at or after `fromIndex`. */
  nextPendingLine(batchId: string, fromIndex: number): PendingLine | undefined {
    const row = this.db
      .prepare(
        "SELECT line_index, line_number, custom_id, url, body FROM batch_lines WHERE batch_id = ? AND state = 'pending' AND line_index >= ? ORDER BY line_index LIMIT 1",
      )
      .get(batchId, fromIndex) as { line_index: number; line_number: number; custom_id: string; url: BatchEndpoint; body: string } | undefined;
    return row && { batchId, index: row.line_index, lineNumber: row.line_number, customId: row.custom_id, url: row.url, body: row.body };
  }

  pendingCount(batchId: string): number {
    return this.db.prepare("SELECT count(*) FROM batch_lines WHERE batch_id = ? AND state = 'pending'").pluck().get(batchId) as number;
  }

  /**
   * Stores a line's answer if the line is still pending and its batch still takes answers
   * (in_progress, or cancelling before its ending is recorded: work done before a cancel is
   * kept). Returns whether it was stored; a second answer for the same line never is.
   */
  commitLine(batchId: string, index: number, answer: LineAnswer): boolean {
    return this.db.transaction(() => {
      const taking = this.db.prepare("SELECT 1 FROM batches WHERE id = ? AND status IN ('in_progress', 'cancelling') AND ending IS NULL").get(batchId);
      if (!taking) return false;
      const stored = this.db
        .prepare("UPDATE batch_lines SET state = ?, output = ? WHERE batch_id = ? AND line_index = ? AND state = 'pending'")
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

  /**
   * Records the terminal status a batch is being finalized to, answering every line still
   * pending with `unanswered(line)` (a failed line: cancelled or expired). `completed` needs no
   * line pending. completed and expired batches show `finalizing` while their files are written;
   * a cancelled one stays `cancelling`. False if the batch already has an ending or cannot end so.
   */
  beginEnding(id: string, ending: BatchEnding, unanswered: (line: { index: number; customId: string }) => string): boolean {
    return this.db.transaction(() => {
      const batch = this.get(id);
      if (!batch || batch.ending !== null) return false;
      const allowed: Record<BatchEnding, BatchStatus[]> = { completed: ['in_progress'], expired: ['in_progress', 'validating'], cancelled: ['cancelling'] };
      if (!allowed[ending].includes(batch.status)) return false;
      const pending = this.db
        .prepare("SELECT line_index, custom_id FROM batch_lines WHERE batch_id = ? AND state = 'pending' ORDER BY line_index")
        .all(id) as { line_index: number; custom_id: string }[];
      if (ending === 'completed' && pending.length > 0) return false;
      const answer = this.db.prepare("UPDATE batch_lines SET state = 'failed', output = ? WHERE batch_id = ? AND line_index = ?");
      for (const row of pending) answer.run(unanswered({ index: row.line_index, customId: row.custom_id }), id, row.line_index);
      const status: BatchStatus = ending === 'cancelled' ? 'cancelling' : 'finalizing';
      this.db
        .prepare('UPDATE batches SET ending = ?, status = ?, finalizing_at = CASE WHEN ? = \'finalizing\' THEN ? ELSE finalizing_at END, failed = failed + ? WHERE id = ?')
        .run(ending, status, status, unixNow(), pending.length, id);
      return true;
    })();
  }

  /** Answered lines in output order, `limit` at a time after `afterIndex` (-1 for the start). */
  answeredLines(batchId: string, afterIndex: number, limit: number): { index: number; succeeded: boolean; output: string }[] {
    const rows = this.db
      .prepare("SELECT line_index, state, output FROM batch_lines WHERE batch_id = ? AND line_index > ? AND state != 'pending' ORDER BY line_index LIMIT ?")
      .all(batchId, afterIndex, limit) as { line_index: number; state: 'succeeded' | 'failed'; output: string }[];
    return rows.map((row) => ({ index: row.line_index, succeeded: row.state === 'succeeded', output: row.output }));
  }

  /**
   * The last step: the output and error files' rows (their bytes are already durable) and the
   * terminal status, in one transaction. False if the batch has no ending or already finished.
   */
  finish(id: string, files: FileStore, outputFile: StoredFile | null, errorFile: StoredFile | null): boolean {
    return this.db.transaction(() => {
      const batch = this.get(id);
      if (!batch || batch.ending === null || batch.status === batch.ending) return false;
      if (outputFile) files.insert(outputFile);
      if (errorFile) files.insert(errorFile);
      this.db
        .prepare(`UPDATE batches SET status = ending, ${ENDED_AT[batch.ending]} = ?, output_file_id = ?, error_file_id = ? WHERE id = ?`)
        .run(unixNow(), outputFile?.id ?? null, errorFile?.id ?? null, id);
      return true;
    })();
  }
}
