import type { Hono } from 'hono';
import type { AppEnv } from '../../../api/http/app-env.js';
import { parseJsonBody } from '../../../api/validation/parse-body.js';
import { parseValue } from '../../../api/validation/parse-value.js';
import type { BatchJobs } from '../../batch-jobs.js';
import type { StoredBatch } from '../../storage/batch-store.js';
import { BatchCreateRequest, BatchListQuery, type Batch, type BatchList } from '../schemas/batches.js';

/** POST/GET /v1/batches, GET /v1/batches/{id}, POST /v1/batches/{id}/cancel: OpenAI's Batch API. */
export function registerBatches(app: Hono<AppEnv>, jobs: BatchJobs): void {
  app.post('/v1/batches', async (c) => {
    const body = await parseJsonBody(c.req.raw, BatchCreateRequest);
    const batch = await jobs.createBatch({
      inputFileId: body.input_file_id,
      endpoint: body.endpoint,
      completionWindow: body.completion_window,
      metadata: body.metadata ?? null,
    });
    return c.json(batchObject(batch));
  });

  app.get('/v1/batches', async (c) => {
    const query = parseValue(BatchListQuery, c.req.query());
    const { batches, hasMore } = await jobs.listBatches(query.after, query.limit);
    const list: BatchList = { object: 'list', data: batches.map(batchObject), first_id: batches[0]?.id ?? null, last_id: batches.at(-1)?.id ?? null, has_more: hasMore };
    return c.json(list);
  });

  app.get('/v1/batches/:id', async (c) => c.json(batchObject(await jobs.getBatch(c.req.param('id')))));

  app.post('/v1/batches/:id/cancel', async (c) => c.json(batchObject(await jobs.cancelBatch(c.req.param('id')))));
}

/** A stored batch in OpenAI's shape: every field present, null until it applies. */
export function batchObject(batch: StoredBatch): Batch {
  const { times, counts, usage } = batch;
  return {
    id: batch.id,
    object: 'batch',
    endpoint: batch.endpoint,
    model: batch.model,
    errors: batch.errors === null ? null : { object: 'list', data: batch.errors },
    input_file_id: batch.inputFileId,
    completion_window: batch.completionWindow,
    status: batch.status,
    output_file_id: batch.outputFileId,
    error_file_id: batch.errorFileId,
    created_at: times.createdAt,
    in_progress_at: times.inProgressAt,
    expires_at: times.expiresAt,
    finalizing_at: times.finalizingAt,
    completed_at: times.completedAt,
    failed_at: times.failedAt,
    expired_at: times.expiredAt,
    cancelling_at: times.cancellingAt,
    cancelled_at: times.cancelledAt,
    request_counts: { total: counts.total, completed: counts.completed, failed: counts.failed },
    usage: {
      input_tokens: usage.inputTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: usage.outputTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: usage.inputTokens + usage.outputTokens,
    },
    metadata: batch.metadata,
  };
}
