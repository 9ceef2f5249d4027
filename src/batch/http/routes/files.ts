import { Readable } from 'node:stream';
import type { Hono } from 'hono';
import type { AppEnv } from '../../../api/http/app-env.js';
import { parseFormBody } from '../../../api/validation/parse-form-body.js';
import { parseValue } from '../../../api/validation/parse-value.js';
import type { BatchJobs } from '../../batch-jobs.js';
import type { StoredFile } from '../../storage/file-store.js';
import { FileListQuery, FileUploadRequest, type FileDeleted, type FileList, type FileObject } from '../schemas/files.js';

export const FILES_PATH = '/v1/files';

/** POST/GET /v1/files, GET/DELETE /v1/files/{id}, GET /v1/files/{id}/content: OpenAI's Files API for batch input and output. */
export function registerFiles(app: Hono<AppEnv>, jobs: BatchJobs): void {
  app.post(FILES_PATH, async (c) => {
    const form = await parseFormBody(c, FileUploadRequest);
    const content = new Uint8Array(await form.file.arrayBuffer());
    return c.json(fileObject(await jobs.uploadFile(form.file.name, content)));
  });

  app.get(FILES_PATH, async (c) => {
    const query = parseValue(FileListQuery, c.req.query());
    const { files, hasMore } = await jobs.listFiles(query);
    const list: FileList = { object: 'list', data: files.map(fileObject), first_id: files[0]?.id ?? null, last_id: files.at(-1)?.id ?? null, has_more: hasMore };
    return c.json(list);
  });

  app.get(`${FILES_PATH}/:id`, async (c) => c.json(fileObject(await jobs.getFile(c.req.param('id')))));

  app.get(`${FILES_PATH}/:id/content`, async (c) => {
    const { file, content } = await jobs.fileContent(c.req.param('id'));
    // Streamed (from disk or the database's chunks): a large output file is never held in memory.
    const body = Readable.toWeb(content) as ReadableStream<Uint8Array>;
    return new Response(body, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(file.bytes) } });
  });

  app.delete(`${FILES_PATH}/:id`, async (c) => {
    const id = c.req.param('id');
    await jobs.deleteFile(id);
    const deleted: FileDeleted = { id, object: 'file', deleted: true };
    return c.json(deleted);
  });
}

function fileObject(file: StoredFile): FileObject {
  return {
    id: file.id,
    object: 'file',
    bytes: file.bytes,
    created_at: file.createdAt,
    filename: file.filename,
    purpose: file.purpose,
    status: 'processed',
    status_details: null,
    expires_at: null,
  };
}
