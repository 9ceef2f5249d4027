import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.js';
import { swaggerUiDistDir } from '../src/api/routes/api-docs.js';
import { ServingState } from '../src/api/serving-state.js';
import { SERVER_OPENAPI_PATHS } from '../src/openapi-document.js';
import { memoryLogger } from './helpers/server.js';

const CHROMIUM = '/usr/bin/chromium';

/** GET /docs: Swagger UI over /openapi.yaml, everything it loads served by this server. */
describe('API reference page at /docs', () => {
  const app = createApp({ state: new ServingState(), logger: memoryLogger().logger, apiKey: 'secret', openApiPaths: SERVER_OPENAPI_PATHS });

  it('is Swagger UI pointed at /openapi.yaml, loading nothing from another origin, and needs no API key', async () => {
    const response = await app.request('/docs');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const html = await response.text();
    expect(html).toContain("url: '/openapi.yaml'");
    expect(html).toContain("validatorUrl: 'none'");
    expect(html).toContain('<script src="/docs/assets/swagger-ui-dist/swagger-ui-bundle.js"');
    expect(html).toContain('<link rel="stylesheet" href="/docs/assets/swagger-ui-dist/swagger-ui.css"');
    // Every src and href is a path on this server: no CDN, so the page works offline.
    const urls = [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
    expect(urls.length).toBe(2);
    for (const url of urls) expect(url).toMatch(/^\/docs\/assets\//);
  });

  it('serves the Swagger UI script and stylesheet from the swagger-ui-dist package (a dependency)', async () => {
    expect(swaggerUiDistDir()).not.toBeNull();
    const js = await app.request('/docs/assets/swagger-ui-dist/swagger-ui-bundle.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('javascript');
    expect(await js.text()).toContain('SwaggerUIBundle');
    const css = await app.request('/docs/assets/swagger-ui-dist/swagger-ui.css');
    expect(css.headers.get('content-type')).toContain('text/css');
  });

  it('answers 404 for any other asset name (no file system access beyond the two files)', async () => {
    for (const name of ['package.json', '..%2Fpackage.json', 'index.html']) {
      expect((await app.request(`/docs/assets/swagger-ui-dist/${name}`)).status).toBe(404);
    }
  });

  describe.runIf(existsSync(CHROMIUM))('in a real browser with every other origin blocked', () => {
    let server: ServerType;
    let url: string;

    beforeAll(async () => {
      server = await new Promise<ServerType>((resolve) => {
        const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
      });
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('renders the operations of openapi.yaml', async () => {
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      try {
        const page = await browser.newPage();
        const foreign: string[] = [];
        await page.route('**/*', (route) => {
          if (route.request().url().startsWith(url)) return route.continue();
          foreign.push(route.request().url());
          return route.abort();
        });
        await page.goto(`${url}/docs`);
        await page.locator('.opblock-summary-path', { hasText: '/v1/chat/completions' }).first().waitFor({ timeout: 30_000 });
        expect(await page.locator('.opblock').count()).toBeGreaterThan(15);
        expect(await page.title()).toBe('qwen3-serve API reference');
        expect(foreign).toEqual([]);
      } finally {
        await browser.close();
      }
    }, 60_000);
  });
});
