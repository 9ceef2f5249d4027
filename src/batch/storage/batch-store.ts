import type { BatchEndpoint } from '../batch-endpoints.js';
import type { StoredFile } from './file-store.js';

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

/**
 * Batches and their lines, one interface for every database (SQLite embedded, PostgreSQL shared
 * by replicas). Every state change is one transaction, so what a crash leaves is always a state
 * the executor resumes from:
 *
 *   validating --startRunning--> in_progress --beginEnding(completed|expired)--> finalizing --finish--> completed|expired
 *        |                           |
 *        |--failValidation--> failed  '--requestCancel--> cancelling --beginEnding(cancelled)--> (cancelling) --finish--> cancelled
 *        '--requestCancel--> cancelling
 *
 * A line is `pending` until commitLine() stores its answer, once: the update is conditional on
 * the line still being pending and the batch still taking answers, and it moves the batch's
 * counters in the same transaction. So even two processes answering the same line (one whose
 * lease ran out while it still ran) store one answer. A line is run by whoever holds its lease
 * (claimLine); a lease not renewed expires, and the line is claimed again by another server (or
 * this one after a restart). beginEnding() answers every line still pending (cancelled or
 * expired) in the same transaction that records the ending, so once a batch has an ending no
 * line is pending and the output files can be written from the committed answers alone.
 */
/** What a new batch is created from (its id, status and times are the store's). */
export interface NewBatch {
  endpoint: BatchEndpoint;
  inputFileId: string;
  completionWindow: string;
  windowSeconds: number;
  model: string | null;
  metadata: Record<string, string> | null;
}

export interface BatchStore {
  create(input: NewBatch): Promise<StoredBatch>;
  get(id: string): Promise<StoredBatch | undefined>;
  /** A page of batches, newest first, after the batch `after` (an unknown cursor gives none). */
  list(after: string | undefined, limit: number): Promise<{ batches: StoredBatch[]; hasMore: boolean }>;
  /** Batches in the given statuses, oldest first (the order the executor works in). */
  inStatus(...statuses: BatchStatus[]): Promise<StoredBatch[]>;
  /** validating -> in_progress with its lines. False (nothing written) if it is no longer validating. */
  startRunning(id: string, lines: readonly BatchLineInput[]): Promise<boolean>;
  /** validating -> failed, with the reasons. */
  failValidation(id: string, errors: readonly BatchError[]): Promise<boolean>;
  /** validating or in_progress -> cancelling. Returns the batch as it now is (unchanged if it was past that). */
  requestCancel(id: string): Promise<StoredBatch | undefined>;
  /**
   * Leases the first pending line of the batch that nobody else holds: free, its lease expired,
   * or already `owner`'s (a line whose answer could not be stored) unless its index is in
   * `exclude` (the owner's lines in flight). The lease lasts `leaseMs` from now by the
   * database's clock, so servers with skewed clocks agree on when it ends.
   */
  claimLine(batchId: string, owner: string, leaseMs: number, exclude: readonly number[]): Promise<PendingLine | undefined>;
  /** Extends every lease `owner` holds on a pending line by `leaseMs` from now. */
  renewLeases(owner: string, leaseMs: number): Promise<void>;
  /** Lines of the batch not answered yet. */
  pendingCount(batchId: string): Promise<number>;
  /** Lines not answered yet across all in_progress batches: the backlog replicas scale on. */
  backlog(): Promise<number>;
  /**
   * Stores a line's answer if the line is still pending and its batch still takes answers
   * (in_progress, or cancelling before its ending is recorded: work done before a cancel is
   * kept). Returns whether it was stored; a second answer for the same line never is.
   */
  commitLine(batchId: string, index: number, answer: LineAnswer): Promise<boolean>;
  /**
   * Records the terminal status a batch is being finalized to, answering every line still
   * pending with `unanswered(line)` (a failed line: cancelled or expired). `completed` needs no
   * line pending. completed and expired batches show `finalizing` while their files are written;
   * a cancelled one stays `cancelling`. False if the batch already has an ending or cannot end so.
   */
  beginEnding(id: string, ending: BatchEnding, unanswered: (line: { index: number; customId: string }) => string): Promise<boolean>;
  /** Answered lines in output order, `limit` at a time after `afterIndex` (-1 for the start). */
  answeredLines(batchId: string, afterIndex: number, limit: number): Promise<{ index: number; succeeded: boolean; output: string }[]>;
  /**
   * The last step: the output and error files' rows (their bytes are already durable) and the
   * terminal status, in one transaction. False if the batch has no ending or already finished.
   */
  finish(id: string, outputFile: StoredFile | null, errorFile: StoredFile | null): Promise<boolean>;
}

/** Which statuses each ending may be recorded from. */
export const ENDING_FROM: Record<BatchEnding, BatchStatus[]> = { completed: ['in_progress'], expired: ['in_progress', 'validating'], cancelled: ['cancelling'] };
