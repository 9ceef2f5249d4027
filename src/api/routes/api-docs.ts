import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { swaggerUI } from '@hono/swagger-ui';
import type { Hono } from 'hono';
import { ServeError } from '../../errors.js';
import type { AppEnv } from '../http/app-env.js';

/** Where the page loads Swagger UI's script and stylesheet from: this server, never a CDN. */
const ASSET_BASE = '/docs/assets';
/** The files of the swagger-ui-dist package the page needs, with their content types. */
const ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
};

/**
 * GET /docs: an API reference page (Swagger UI) over GET /openapi.yaml, rendered by the
 * maintained @hono/swagger-ui middleware.
 *
 * The middleware points the page at a CDN for Swagger UI's script and stylesheet unless given a
 * `baseUrl`; the server must work offline (air-gapped clusters, our own machines), so the page
 * loads them from this server instead, which serves the two files from the swagger-ui-dist npm
 * package. With that package absent the page cannot work, and its assets answer 404 saying so
 * (the contract itself stays at /openapi.yaml). Like /openapi.yaml, the page needs no API key;
 * "Try it out" requests carry the key the reader enters.
 */
export function registerApiDocs(app: Hono<AppEnv>): void {
  // validatorUrl 'none': Swagger UI would otherwise send the document's URL to its public
  // validator service and show a badge from it, a call out of the cluster on every page view.
  app.get('/docs', swaggerUI({ url: '/openapi.yaml', baseUrl: ASSET_BASE, title: 'qwen3-serve API reference', validatorUrl: 'none' }));
  // The middleware asks for `${baseUrl}/swagger-ui-dist/<file>` (no version pinned: the package's own).
  app.get(`${ASSET_BASE}/swagger-ui-dist/:file`, async (c) => {
    const file = c.req.param('file');
    const type = ASSETS[file];
    if (type === undefined) throw new ServeError('not_found_error', `no API reference asset ${file}`, { code: 'route_not_found' });
    const dir = swaggerUiDistDir();
    if (dir === null) {
      throw new ServeError('not_found_error', 'the API reference page needs the swagger-ui-dist package, which is not installed (npm install swagger-ui-dist); the API contract is at /openapi.yaml', {
        code: 'docs_unavailable',
      });
    }
    // Cached by browsers for a day: the files change only with the installed package.
    return c.body(await readFile(join(dir, file)), 200, { 'content-type': type, 'cache-control': 'public, max-age=86400' });
  });
}

/** The installed swagger-ui-dist package's folder, or null when it is not installed. */
export function swaggerUiDistDir(): string | null {
  try {
    return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  } catch {
    return null;
  }
}
