import type { BatchEndpoint } from '../batch-endpoints.js';
import type { BatchEnding, BatchError, BatchStatus, StoredBatch } from './batch-store.js';

/** A `batches` row as both databases return it (the same column names and JSON text columns). */
export interface BatchRow {
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

/** A row as the stores return it: JSON columns parsed, times grouped. */
export function toBatch(row: BatchRow): StoredBatch {
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
export const ENDED_AT: Record<BatchEnding, string> = { completed: 'completed_at', expired: 'expired_at', cancelled: 'cancelled_at' };
