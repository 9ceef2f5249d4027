import { OpenApiBuilder, type OpenAPIObject, type OperationObject, type ResponsesObject, type SchemaObject } from 'openapi3-ts/oas31';
import { z } from 'zod';
import { MAX_TOP_LOGPROBS } from '../schemas/sampling-fields.js';
import '../schemas/batches.js';
import '../schemas/chat.js';
import '../schemas/completions.js';
import '../schemas/files.js';
import '../schemas/health.js';
import '../schemas/instruct.js';
import '../schemas/models.js';
import '../schemas/tokenize.js';
import { components } from '../schemas/registry.js';

/**
 * openapi.yaml, built from the zod schemas the server validates requests with (their registry:
 * schemas/registry.ts) and the response schemas its routes are typed by. `qwen3-serve openapi`
 * writes it to the repository root; GET /openapi.yaml serves it; a test fails when the committed
 * file differs from what this builds.
 *
 * Every schema module is imported here, so the document never depends on which routes happen to
 * be loaded: a new module of components must be added to these imports.
 */

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

/** Streamed bodies: OpenAPI 3.1 cannot type the items of a stream, so an extension names them. */
const STREAM_ITEM = 'x-stream-item-schema';

function componentSchemas(): Record<string, SchemaObject> {
  const { schemas } = z.toJSONSchema(components, { uri: (id) => `#/components/schemas/${id}`, unrepresentable: 'any' });
  const result: Record<string, SchemaObject> = {};
  for (const id of Object.keys(schemas).sort()) {
    // Each component is a plain schema inside the document, not a standalone JSON Schema file.
    const { $schema: _dialect, $id: _id, ...schema } = schemas[id] as Record<string, unknown>;
    result[id] = schema as SchemaObject;
  }
  return result;
}

function errorResponses(statuses: number[]): ResponsesObject {
  const descriptions: Record<number, string> = {
    400: 'Invalid request: malformed JSON, an unsupported parameter (code unsupported_parameter), a value out of range (invalid_value), or prompt + max_tokens beyond the context (context_length_exceeded).',
    401: 'An API key is configured and the request has none (missing_api_key) or a wrong one (invalid_api_key).',
    404: 'Unknown model (model_not_found), file (file_not_found) or batch (batch_not_found).',
    413: 'The request body is larger than the configured limit (--max-body-bytes; for uploads --max-file-bytes).',
    429: 'The admission queue is full (queue_full); retry after Retry-After seconds.',
    503: 'The model is still loading (model_loading), the server is draining (draining), or the model failed to load.',
    504: 'The request ran past the server\'s --request-timeout, queue wait included (timeout_error, code request_timeout); it was cancelled. A stream already started ends with this error as its last event instead.',
  };
  const responses: ResponsesObject = {};
  for (const status of statuses) {
    responses[String(status)] = {
      description: descriptions[status],
      content: { 'application/json': { schema: ref('ErrorResponse') } },
      ...(status === 429 || status === 503 ? { headers: { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } } } } : {}),
      ...(status === 504 ? { headers: { 'x-should-retry': { description: "Tells OpenAI's SDKs not to retry.", schema: { type: 'string', const: 'false' } } } } : {}),
    };
  }
  return responses;
}

const GENERATION_ERRORS = [400, 401, 404, 413, 429, 503, 504];

function generationOperation(summary: string, request: string, whole: string, chunk: string): OperationObject {
  return {
    summary,
    requestBody: { required: true, content: { 'application/json': { schema: ref(request) } } },
    responses: {
      '200': {
        description: 'The completion (application/json), or with `stream: true` a server-sent event stream of chunks ending with `data: [DONE]`.',
        content: {
          'application/json': { schema: ref(whole) },
          'text/event-stream': { schema: { type: 'string', description: `\`data: <${chunk}>\` events, then \`data: [DONE]\`.`, [STREAM_ITEM]: ref(chunk) } },
        },
      },
      ...errorResponses(GENERATION_ERRORS),
    },
  };
}

function jsonOperation(summary: string, response: string, options: { request?: string; errors?: number[]; description?: string } = {}): OperationObject {
  return {
    summary,
    ...(options.description ? { description: options.description } : {}),
    ...(options.request ? { requestBody: { required: true, content: { 'application/json': { schema: ref(options.request) } } } } : {}),
    responses: { '200': { description: 'OK', content: { 'application/json': { schema: ref(response) } } }, ...errorResponses(options.errors ?? []) },
  };
}

/** Routes behind --api-key (when one is configured): the API, not the probes or /metrics. */
const KEYED: Pick<OperationObject, 'security'> = { security: [{}, { apiKey: [] }] };

export function buildOpenApiDocument(): OpenAPIObject {
  const builder = OpenApiBuilder.create({
    openapi: '3.1.0',
    info: {
      title: 'qwen3-serve',
      version: '1.0.0',
      description:
        'OpenAI-compatible inference server for Qwen3 ONNX models. Errors use OpenAI\'s envelope {error: {message, type, param, code}}. ' +
        `Sampling ranges follow OpenAI (vLLM for its extras); logprobs report up to ${MAX_TOP_LOGPROBS} alternatives.`,
    },
    paths: {},
    components: {
      schemas: componentSchemas(),
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'Required only when the server runs with --api-key.' } },
    },
  });
  builder.addPath('/v1/chat/completions', {
    post: { ...generationOperation('Chat completion', 'ChatCompletionRequest', 'ChatCompletion', 'ChatCompletionChunk'), ...KEYED },
  });
  builder.addPath('/v1/completions', {
    post: { ...generationOperation('Text completion', 'CompletionRequest', 'Completion', 'CompletionChunk'), ...KEYED },
  });
  builder.addPath('/v1/qwen3/instruct', {
    post: {
      summary: 'Lean streamed generation (NDJSON)',
      description:
        'Streams application/x-ndjson: one JSON value per line. A JSON string is the next piece of text (whole characters); the last line is an InstructEnd object with finish_reason and usage, or an error. The request id is in the X-Request-Id header.',
      requestBody: { required: true, content: { 'application/json': { schema: ref('InstructRequest') } } },
      responses: {
        '200': { description: 'The text stream.', content: { 'application/x-ndjson': { schema: { type: 'string', description: 'Lines of InstructLine.', [STREAM_ITEM]: ref('InstructLine') } } } },
        ...errorResponses(GENERATION_ERRORS),
      },
      ...KEYED,
    },
  });
  builder.addPath('/v1/models', { get: { ...jsonOperation('The served model', 'ModelList', { errors: [401, 503] }), ...KEYED } });
  builder.addPath('/v1/models/{id}', {
    get: {
      ...jsonOperation('One model', 'Model', { errors: [401, 404, 503] }),
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      ...KEYED,
    },
  });
  addBatchPaths(builder);
  builder.addPath('/tokenize', { post: { ...jsonOperation('Tokenize text or a chat', 'TokenizeResponse', { request: 'TokenizeRequest', errors: [400, 401, 404, 413, 503] }), ...KEYED } });
  builder.addPath('/detokenize', { post: { ...jsonOperation('Token ids to text', 'DetokenizeResponse', { request: 'DetokenizeRequest', errors: [400, 401, 404, 413, 503] }), ...KEYED } });
  builder.addPath('/health', { get: jsonOperation('Liveness', 'Health') });
  builder.addPath('/ready', {
    get: {
      summary: 'Readiness',
      responses: {
        '200': { description: 'Ready for work.', content: { 'application/json': { schema: ref('Readiness') } } },
        '503': { description: 'Loading, draining, or failed.', content: { 'application/json': { schema: ref('Readiness') } } },
      },
    },
  });
  builder.addPath('/metrics', {
    get: {
      summary: 'Prometheus metrics (404 when the server runs without a metrics exporter)',
      responses: { '200': { description: 'Prometheus text exposition format.', content: { 'text/plain': { schema: { type: 'string' } } } } },
    },
  });
  builder.addPath('/openapi.yaml', {
    get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/yaml': { schema: { type: 'string' } } } } } },
  });
  return builder.getSpec();
}

const idParameter = (name: string) => ({ name, in: 'path' as const, required: true, schema: { type: 'string' as const } });

/** The Files and Batch API (served when the server has a data directory, as `serve` always does). */
function addBatchPaths(builder: OpenApiBuilder): void {
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

export function openApiYaml(): string {
  return OpenApiBuilder.create(buildOpenApiDocument()).getSpecAsYaml(undefined, { lineWidth: 0 });
}
