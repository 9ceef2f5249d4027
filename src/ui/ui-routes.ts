import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { Hono } from 'hono';
import type { FeatureRoutes } from '../api/feature-routes.js';
import { requireApiKey } from '../api/http/api-key.js';
import type { AppEnv } from '../api/http/app-env.js';
import { ServeError } from '../errors.js';
import { DOCUMENTS_PATH, registerUiApi, UI_API_PATH, type UiStores } from './http/ui-api-routes.js';
import { ConversationStore } from './storage/conversation-store.js';
import { TemplateStore } from './storage/template-store.js';
import { openUiDatabase } from './storage/ui-database.js';
import { BUILT_UI_FOLDER, loadUiFiles, packageRoot, UI_FILES, type UiFile } from './ui-assets.js';

export interface UiOptions {
  /** The data directory (its ui.sqlite keeps conversations); absent: kept in memory until the server stops. */
  dataDir?: string;
  /** The server's --api-key: the page's own API needs it as the OpenAI routes do. The page itself does not. */
  apiKey?: string;
  /** The built page's folder; default dist/ui in the package. */
  assetsDir?: string;
  /** Largest document upload in bytes. Default 32 MiB. */
  maxDocumentBytes?: number;
}

export const DEFAULT_MAX_DOCUMENT_BYTES = 32 * 1024 * 1024;

/** The chat page and its API, with the database it opened (closed by `close`). */
export interface UiFeature extends FeatureRoutes {
  close(): void;
}

/**
 * The web UI as a feature the app mounts: GET / (the page), /ui/assets/* (its script and
 * styles, built into the package: no CDN, works offline) and /ui/api/* (conversations,
 * templates, documents). The page talks to the OpenAI routes (/v1/chat/completions, /v1/models)
 * and /metrics like any other client.
 */
export function uiRoutes(options: UiOptions): UiFeature {
  // Opened on the first call of the page's API, as the batch database is on the first upload:
  // a server whose page nobody opens leaves no ui.sqlite behind.
  let db: Database.Database | null = null;
  let stores: UiStores | null = null;
  const openStores = () => {
    if (!stores) {
      db = openUiDatabase(options.dataDir);
      stores = { conversations: new ConversationStore(db), templates: new TemplateStore(db) };
    }
    return stores;
  };
  const routes = new Hono<AppEnv>();
  if (options.apiKey !== undefined) routes.use(`${UI_API_PATH}/*`, requireApiKey(options.apiKey));
  registerUiApi(routes, openStores);

  const assetsDir = options.assetsDir ?? join(packageRoot(), BUILT_UI_FOLDER);
  const files = loadUiFiles(assetsDir);
  const serve = (name: UiFile) => {
    if (!files) {
      throw new ServeError('service_unavailable', `the web UI was not built (no ${assetsDir}): run "npm run build", or start with --no-ui`, {
        code: 'ui_not_built',
      });
    }
    // The page may change with every install; its script and styles are only ever read with it.
    return new Response(new Uint8Array(files.get(name)!), { headers: { 'content-type': UI_FILES[name], 'cache-control': 'no-cache' } });
  };
  routes.get('/', () => serve('index.html'));
  routes.get('/ui/assets/:file', (c) => {
    const name = c.req.param('file');
    if (!Object.hasOwn(UI_FILES, name) || name === 'index.html') {
      throw new ServeError('not_found_error', `no UI asset ${name}`, { code: 'route_not_found' });
    }
    return serve(name as UiFile);
  });

  // Multipart framing around a document is allowed beyond the document's own limit.
  const uploadLimit = (options.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES) + 64 * 1024;
  return { routes, uploadLimits: { [DOCUMENTS_PATH]: uploadLimit }, close: () => db?.close() };
}
