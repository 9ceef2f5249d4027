import { z } from 'zod';
import { component } from '../../../api/schemas/registry.js';

/** /v1/files: uploads for the Batch API and the files batches write, in OpenAI's shapes. */

export const FileUploadRequest = component(
  z.strictObject({
    file: z
      .custom<File>((value) => value instanceof File, { error: 'file must be an uploaded file (multipart form field "file")' })
      .meta({ type: 'string', contentMediaType: 'application/jsonl', description: 'The JSONL file of batch requests (BatchRequestInput lines).' }),
    purpose: z.literal('batch', { error: "purpose must be 'batch' (the only purpose this server stores files for)" }),
  }),
  'FileUploadRequest',
  'multipart/form-data fields of an upload. Every line is checked on upload; a bad file is a 400 whose message names the line and the reason.',
);

export const FileObject = component(
  z.object({
    id: z.string(),
    object: z.literal('file'),
    bytes: z.int().min(0),
    created_at: z.int(),
    filename: z.string(),
    purpose: z.enum(['batch', 'batch_output']).meta({ description: '`batch` for uploads, `batch_output` for the output and error files of batches.' }),
    status: z.literal('processed').meta({ description: "Deprecated by OpenAI; always 'processed' (files are validated on upload)." }),
    status_details: z.null(),
    expires_at: z.null().meta({ description: 'Files do not expire here; delete them with DELETE /v1/files/{id}.' }),
  }),
  'FileObject',
  'A stored file.',
);
export type FileObject = z.output<typeof FileObject>;

export const FileList = component(
  z.object({
    object: z.literal('list'),
    data: z.array(FileObject),
    first_id: z.string().nullable(),
    last_id: z.string().nullable(),
    has_more: z.boolean(),
  }),
  'FileList',
  'A page of files; pass `last_id` as `after` for the next one.',
);
export type FileList = z.output<typeof FileList>;

/** Most files one page lists (OpenAI's limit). */
export const MAX_FILE_PAGE = 10_000;

export const FileListQuery = z.strictObject({
  purpose: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(MAX_FILE_PAGE).default(MAX_FILE_PAGE),
  order: z.enum(['asc', 'desc']).default('desc'),
  after: z.string().optional(),
});

export const FileDeleted = component(
  z.object({ id: z.string(), object: z.literal('file'), deleted: z.boolean() }),
  'FileDeleted',
  'The answer to DELETE /v1/files/{id}.',
);
export type FileDeleted = z.output<typeof FileDeleted>;
