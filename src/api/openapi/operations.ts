import type { OperationObject, ResponsesObject } from 'openapi3-ts/oas31';

/**
 * The pieces operations of openapi.yaml are made of, shared by the API's own document
 * (document.ts) and the paths other features add to it (OpenApiPaths).
 */

/** A reference to a schema component (see schemas/registry.ts). */
export const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

/** The responses of `statuses`: OpenAI's error envelope, each with what it means here. */
export function errorResponses(statuses: number[]): ResponsesObject {
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

/** An operation that answers `response` as JSON, with an optional JSON request body and its error statuses. */
export function jsonOperation(summary: string, response: string, options: { request?: string; errors?: number[]; description?: string } = {}): OperationObject {
  return {
    summary,
    ...(options.description ? { description: options.description } : {}),
    ...(options.request ? { requestBody: { required: true, content: { 'application/json': { schema: ref(options.request) } } } } : {}),
    responses: { '200': { description: 'OK', content: { 'application/json': { schema: ref(response) } } }, ...errorResponses(options.errors ?? []) },
  };
}

/** Routes behind --api-key (when one is configured): the API, not the probes or /metrics. */
export const KEYED: Pick<OperationObject, 'security'> = { security: [{}, { apiKey: [] }] };

/** A required string path parameter. */
export const idParameter = (name: string) => ({ name, in: 'path' as const, required: true, schema: { type: 'string' as const } });

