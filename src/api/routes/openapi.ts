import type { Hono } from 'hono';
import type { AppEnv } from '../http/app-env.js';
import { openApiYaml } from '../openapi/document.js';

/** GET /openapi.yaml: the same document as the repository's openapi.yaml, built from the schemas. */
export function registerOpenApi(app: Hono<AppEnv>): void {
  const yaml = openApiYaml();
  app.get('/openapi.yaml', (c) => c.body(yaml, 200, { 'content-type': 'application/yaml; charset=utf-8' }));
}
