import type { OpenAPIObject } from 'openapi3-ts/oas31';
import { buildOpenApiDocument, openApiYaml, type OpenApiPaths } from './api/openapi/document.js';
import { addBatchPaths } from './batch/http/openapi-paths.js';

/**
 * The server's whole OpenAPI document: the API layer's routes plus the paths of the features
 * mounted beside them (the Files and Batch API). The repository's openapi.yaml is this document;
 * `qwen3-serve openapi` writes it and GET /openapi.yaml serves it.
 */
export const SERVER_OPENAPI_PATHS: readonly OpenApiPaths[] = [addBatchPaths];

export function buildServerOpenApiDocument(): OpenAPIObject {
  return buildOpenApiDocument(SERVER_OPENAPI_PATHS);
}

export function serverOpenApiYaml(): string {
  return openApiYaml(SERVER_OPENAPI_PATHS);
}
