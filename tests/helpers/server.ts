import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import OpenAI from 'openai';
import { pino, type Logger } from 'pino';
import type { EngineConfig } from '../../src/engine/engine-config.js';
import { buildServerOpenApiDocument } from '../../src/openapi-document.js';
import { startServer, type ServerConfig, type ServerHandle } from '../../src/server.js';
import { tinyModelDir } from './models.js';

/** Log lines a test server wrote, parsed. */
export type LogLine = Record<string, unknown> & { msg?: string };

/** A pino logger that keeps its lines in memory (tests assert on them; nothing reaches stdout). */
export function memoryLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}

export interface TestServer {
  handle: ServerHandle;
  url: string;
  logs: LogLine[];
  /** The official OpenAI client pointed at this server. */
  openai(options?: { apiKey?: string; maxRetries?: number }): OpenAI;
  /** A raw JSON POST (no client-side checks), for framing and error tests. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
}

/** What a test changes of the test server's config; `engine` is merged into the defaults' engine. */
export type TestServerOverrides = Partial<Omit<ServerConfig, 'engine'>> & { engine?: Partial<EngineConfig> };

/**
 * A real server on the tiny int4 model, on 127.0.0.1 and a port the OS picks, loaded and ready.
 * Stop it with `handle.close()` in afterAll.
 */
export async function startTestServer(overrides: TestServerOverrides = {}): Promise<TestServer> {
  const { logger, lines } = memoryLogger();
  const engine: EngineConfig = { modelDir: tinyModelDir('int4'), maxSeqs: 4, ...overrides.engine };
  const handle = await startServer({ host: '127.0.0.1', port: 0, logger, ...overrides, engine });
  await handle.ready;
  return {
    handle,
    url: handle.url,
    logs: lines,
    openai: (options = {}) => new OpenAI({ baseURL: `${handle.url}/v1`, apiKey: options.apiKey ?? 'unused', maxRetries: options.maxRetries ?? 0 }),
    post: (path, body, headers = {}) =>
      fetch(`${handle.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
  };
}

/** Server-sent events of a body: the `data:` payload of each event, `[DONE]` included. */
export function sseData(text: string): string[] {
  if (!text.endsWith('\n\n')) throw new Error(`the stream does not end with a blank line: ${JSON.stringify(text.slice(-40))}`);
  return text
    .slice(0, -2)
    .split('\n\n')
    .map((event) => {
      if (!event.startsWith('data: ') || event.includes('\n')) throw new Error(`not a single data line: ${JSON.stringify(event)}`);
      return event.slice('data: '.length);
    });
}

/**
 * Checks values against the components of the server's OpenAPI document (the same document as
 * openapi.yaml) with a JSON Schema 2020-12 validator: what the server answers is what it documents.
 */
export function openApiValidator(): (component: string, value: unknown) => ErrorObject[] {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ ...buildServerOpenApiDocument(), $id: 'openapi.json' });
  return (component, value) => {
    const validate = ajv.getSchema(`openapi.json#/components/schemas/${component}`);
    if (!validate) throw new Error(`no component ${component} in the OpenAPI document`);
    return validate(value) ? [] : [...(validate.errors ?? [])];
  };
}
