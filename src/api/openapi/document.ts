import { OpenApiBuilder, type OpenAPIObject, type OperationObject, type SchemaObject } from 'openapi3-ts/oas31';
import { z } from 'zod';
import { MAX_TOP_LOGPROBS } from '../schemas/sampling-fields.js';
import '../schemas/chat.js';
import '../schemas/completions.js';
import '../schemas/health.js';
import '../schemas/instruct.js';
import '../schemas/models.js';
import '../schemas/responses.js';
import '../schemas/tokenize.js';
import { components } from '../schemas/registry.js';
import { errorResponses, jsonOperation, KEYED, ref } from './operations.js';

/**
 * openapi.yaml, built from the zod schemas the server validates requests with (their registry:
 * schemas/registry.ts) and the response schemas its routes are typed by. `qwen3-serve openapi`
 * writes it to the repository root; GET /openapi.yaml serves it; a test fails when the committed
 * file differs from what this builds.
 *
 * Every schema module of this layer is imported here, so the document never depends on which
 * routes happen to be loaded: a new module of components must be added to these imports.
 * Features outside this layer (the Files and Batch API) add their paths as OpenApiPaths, whose
 * module imports the schema modules those paths refer to.
 */

/**
 * Adds a feature's paths to the document. Their components are the schemas the feature
 * registered with `component()` (schemas/registry.ts); the document lists every registered one.
 */
export type OpenApiPaths = (builder: OpenApiBuilder) => void;

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

export function buildOpenApiDocument(additions: readonly OpenApiPaths[] = []): OpenAPIObject {
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
  builder.addPath('/v1/responses', {
    post: {
      summary: 'Create a response (Responses API)',
      description:
        'The conversation is `input` (after the stored conversation of previous_response_id), rendered by the chat template with `instructions` as the system prompt. Stored unless `store: false`. With `stream: true`, typed server-sent events (`event: <type>`, `data: <event>`) and no `[DONE]`.',
      requestBody: { required: true, content: { 'application/json': { schema: ref('ResponseCreateRequest') } } },
      responses: {
        '200': {
          description: 'The response (application/json), or with `stream: true` its events.',
          content: {
            'application/json': { schema: ref('Response') },
            'text/event-stream': { schema: { type: 'string', description: 'ResponseStreamEvent events.', [STREAM_ITEM]: ref('ResponseStreamEvent') } },
          },
        },
        ...errorResponses(GENERATION_ERRORS),
      },
      ...KEYED,
    },
  });
  builder.addPath('/v1/responses/{id}', {
    get: {
      ...jsonOperation('A stored response', 'Response', { errors: [401, 404] }),
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      ...KEYED,
    },
    delete: {
      ...jsonOperation('Delete a stored response', 'ResponseDeleted', { errors: [401, 404] }),
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      ...KEYED,
    },
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
  // Other features' paths (the Files and Batch API) go with the OpenAI-shaped /v1 routes.
  for (const addPaths of additions) addPaths(builder);
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
  builder.addPath('/docs', {
    get: { summary: 'This document as a browsable API reference (Swagger UI, served locally)', responses: { '200': { description: 'An HTML page', content: { 'text/html': { schema: { type: 'string' } } } } } },
  });
  return builder.getSpec();
}

export function openApiYaml(additions: readonly OpenApiPaths[] = []): string {
  return OpenApiBuilder.create(buildOpenApiDocument(additions)).getSpecAsYaml(undefined, { lineWidth: 0 });
}
