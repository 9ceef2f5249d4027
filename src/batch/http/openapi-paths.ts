import type { OpenApiBuilder } from 'openapi3-ts/oas31';
import { errorResponses, idParameter, jsonOperation, KEYED, ref } from '../../api/openapi/operations.js';
// The components these paths refer to: importing the schema modules registers them.
import './schemas/batches.js';
import './schemas/files.js';

/** The Files and Batch API (served when the server has a data directory, as `serve` always does). */
export function addBatchPaths(builder: OpenApiBuilder): void {
  builder.addPath('/v1/files', {
    post: {
      summary: 'Upload a batch input file',
      description: 'multipart/form-data with `file` (JSONL of BatchRequestInput lines) and `purpose=batch`. Every line is validated; a bad file is a 400 whose message starts with `line N:` and says why.',
      requestBody: { required: true, content: { 'multipart/form-data': { schema: ref('FileUploadRequest') } } },
      responses: { '200': { description: 'The stored file.', content: { 'application/json': { schema: ref('FileObject') } } }, ...errorResponses([400, 401, 413, 503]) },
      ...KEYED,
    },
    get: {
      ...jsonOperation('List files', 'FileList', { errors: [400, 401] }),
      parameters: [
        { name: 'purpose', in: 'query', schema: { type: 'string' } },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 10000, default: 10000 } },
        { name: 'order', in: 'query', schema: { type: 'string', enum: ['asc', 'desc'], default: 'desc' } },
        { name: 'after', in: 'query', schema: { type: 'string' }, description: 'A file id: list the files after it.' },
      ],
      ...KEYED,
    },
  });
  builder.addPath('/v1/files/{file_id}', {
    get: { ...jsonOperation('A file', 'FileObject', { errors: [401, 404] }), parameters: [idParameter('file_id')], ...KEYED },
    delete: { ...jsonOperation('Delete a file', 'FileDeleted', { errors: [401, 404] }), parameters: [idParameter('file_id')], ...KEYED },
  });
  builder.addPath('/v1/files/{file_id}/content', {
    get: {
      summary: "A file's bytes",
      description: 'For batch output and error files: JSONL of BatchRequestOutput lines, in input order.',
      parameters: [idParameter('file_id')],
      responses: {
        '200': { description: 'The file.', content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } } },
        ...errorResponses([401, 404]),
      },
      ...KEYED,
    },
  });
  builder.addPath('/v1/batches', {
    post: { ...jsonOperation('Create a batch', 'Batch', { request: 'BatchCreateRequest', errors: [400, 401, 404, 413] }), ...KEYED },
    get: {
      ...jsonOperation('List batches, newest first', 'BatchList', { errors: [400, 401] }),
      parameters: [
        { name: 'after', in: 'query', schema: { type: 'string' }, description: 'A batch id: list the batches after it.' },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
      ],
      ...KEYED,
    },
  });
  builder.addPath('/v1/batches/{batch_id}', {
    get: { ...jsonOperation('A batch', 'Batch', { errors: [401, 404] }), parameters: [idParameter('batch_id')], ...KEYED },
  });
  builder.addPath('/v1/batches/{batch_id}/cancel', {
    post: {
      ...jsonOperation('Cancel a batch', 'Batch', {
        errors: [400, 401, 404],
        description: 'Validating or in-progress batches turn cancelling, then cancelled; answers already made are kept in the output file, the other lines are in the error file with code batch_cancelled.',
      }),
      parameters: [idParameter('batch_id')],
      ...KEYED,
    },
  });
}
