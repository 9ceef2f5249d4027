import { z } from 'zod';
import { component } from '../../../api/schemas/registry.js';
import { BATCH_ENDPOINTS } from '../../batch-endpoints.js';

/** /v1/batches and the lines of batch input and output files, in OpenAI's shapes. */

/** Longest custom_id: enough for any key a user joins results on, bounded for the database. */
export const MAX_CUSTOM_ID_LENGTH = 512;

export const BatchRequestInput = component(
  z.strictObject({
    custom_id: z
      .string({ error: 'custom_id must be a string' })
      .min(1, { error: 'custom_id must not be empty' })
      .max(MAX_CUSTOM_ID_LENGTH, { error: `custom_id must be at most ${MAX_CUSTOM_ID_LENGTH} characters` })
      .meta({ description: 'Your id for the request, unique within the file; its output line carries it.' }),
    method: z.literal('POST', { error: "method must be 'POST'" }),
    url: z.enum(BATCH_ENDPOINTS, { error: `url must be one of ${BATCH_ENDPOINTS.join(', ')}` }),
    body: z
      .record(z.string(), z.unknown(), { error: 'body must be a JSON object' })
      .meta({ description: "The request body, checked against the url's request schema (ChatCompletionRequest, CompletionRequest or ResponseCreateRequest); `stream` must not be true." }),
  }),
  'BatchRequestInput',
  'One line of a batch input file (JSONL).',
);
export type BatchRequestInput = z.output<typeof BatchRequestInput>;

export const BatchRequestOutput = component(
  z.object({
    id: z.string(),
    custom_id: z.string(),
    response: z
      .object({
        status_code: z.int(),
        request_id: z.string(),
        body: z.record(z.string(), z.unknown()).meta({ description: 'Exactly what the endpoint answered over HTTP: the completion, or an ErrorResponse.' }),
      })
      .nullable(),
    error: z
      .object({ code: z.string(), message: z.string() })
      .nullable()
      .meta({ description: 'Set instead of `response` for a line that never ran: code batch_cancelled or batch_expired.' }),
  }),
  'BatchRequestOutput',
  'One line of a batch output file (status 2xx) or error file (any other status, or never run).',
);
export type BatchRequestOutput = z.output<typeof BatchRequestOutput>;

/** OpenAI's metadata: at most 16 pairs, keys up to 64 characters, values up to 512. */
const Metadata = z
  .record(
    z.string().max(64, { error: 'metadata keys must be at most 64 characters' }),
    z.string({ error: 'metadata values must be strings' }).max(512, { error: 'metadata values must be at most 512 characters' }),
  )
  .refine((metadata) => Object.keys(metadata).length <= 16, { error: 'metadata may have at most 16 keys' });

export const BatchCreateRequest = component(
  z.strictObject({
    input_file_id: z.string().min(1).meta({ description: 'An uploaded file with purpose batch.' }),
    endpoint: z.enum(BATCH_ENDPOINTS, { error: `endpoint must be one of ${BATCH_ENDPOINTS.join(', ')}` }),
    completion_window: z.literal('24h', { error: "completion_window must be '24h'" }),
    metadata: Metadata.nullish(),
  }),
  'BatchCreateRequest',
  'Starts a batch over an uploaded file. Every line of the file must have `url` equal to `endpoint`.',
);
export type BatchCreateRequest = z.output<typeof BatchCreateRequest>;

const BatchError = z.object({
  code: z.string(),
  line: z.int().nullable(),
  message: z.string(),
  param: z.string().nullable(),
});

const timestamp = (description: string) => z.int().nullable().meta({ description: `Unix seconds: ${description}; null until then.` });

export const Batch = component(
  z.object({
    id: z.string(),
    object: z.literal('batch'),
    endpoint: z.enum(BATCH_ENDPOINTS),
    model: z.string().nullable(),
    errors: z.object({ object: z.literal('list'), data: z.array(BatchError) }).nullable().meta({ description: 'Why validation failed (status failed).' }),
    input_file_id: z.string(),
    completion_window: z.string(),
    status: z.enum(['validating', 'failed', 'in_progress', 'finalizing', 'completed', 'expired', 'cancelling', 'cancelled']),
    output_file_id: z.string().nullable().meta({ description: 'The answers with status 2xx (BatchRequestOutput lines, in input order), once the batch has ended; null if there are none.' }),
    error_file_id: z.string().nullable().meta({ description: 'The other answers and the lines that never ran, once the batch has ended; null if there are none.' }),
    created_at: z.int(),
    in_progress_at: timestamp('validated, lines started'),
    expires_at: z.int().meta({ description: 'Unix seconds: the end of the completion window; lines not run by then expire.' }),
    finalizing_at: timestamp('every line answered, files being written'),
    completed_at: timestamp('completed'),
    failed_at: timestamp('validation failed'),
    expired_at: timestamp('expired'),
    cancelling_at: timestamp('cancel requested'),
    cancelled_at: timestamp('cancelled'),
    request_counts: z.object({
      total: z.int().min(0),
      completed: z.int().min(0).meta({ description: 'Lines answered with status 2xx.' }),
      failed: z.int().min(0).meta({ description: 'Lines answered with another status, and (once ended) lines cancelled or expired.' }),
    }),
    usage: z.object({
      input_tokens: z.int().min(0),
      input_tokens_details: z.object({ cached_tokens: z.int().min(0) }),
      output_tokens: z.int().min(0),
      output_tokens_details: z.object({ reasoning_tokens: z.int().min(0) }),
      total_tokens: z.int().min(0),
    }),
    metadata: z.record(z.string(), z.string()).nullable(),
  }),
  'Batch',
  'A batch. Status moves validating -> in_progress -> finalizing -> completed, or ends failed (validation), cancelling -> cancelled, or expired.',
);
export type Batch = z.output<typeof Batch>;

/** Most batches one page lists, and the default (OpenAI's). */
export const MAX_BATCH_PAGE = 100;
export const DEFAULT_BATCH_PAGE = 20;

export const BatchListQuery = z.strictObject({
  after: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(MAX_BATCH_PAGE).default(DEFAULT_BATCH_PAGE),
});

export const BatchList = component(
  z.object({
    object: z.literal('list'),
    data: z.array(Batch),
    first_id: z.string().nullable(),
    last_id: z.string().nullable(),
    has_more: z.boolean(),
  }),
  'BatchList',
  'A page of batches, newest first; pass `last_id` as `after` for the next one.',
);
export type BatchList = z.output<typeof BatchList>;
