import type { Hono } from 'hono';
import type { AppEnv } from '../http/app-env.js';
import { openApiYaml, type OpenApiPaths } from '../openapi/document.js';

/**
 * GET /openapi.yaml: the document built from the schemas, with the paths of the features given
 * (the server gives all of them: the repository's openapi.yaml).
 */
export function registerOpenApi(app: Hono<AppEnv>, additions: readonly OpenApiPaths[]): void {
  const yaml = openApiYaml(additions);
  app.get('/openapi.yaml', (c) => c.body(yaml, 200, { 'content-type': 'application/yaml; charset=utf-8' }));
}
