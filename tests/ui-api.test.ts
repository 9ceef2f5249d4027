import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveCommand } from '../src/commands/serve.js';
import type { Conversation } from '../src/ui/conversation.js';
import { UI_DATABASE_FILE } from '../src/ui/storage/ui-database.js';
import { buildTestUiAssets } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { textPdf } from './helpers/text-pdf.js';

/**
 * The chat page's own API over HTTP on a real server: conversations kept in the data directory's
 * ui.sqlite (across a restart), exports, templates, document text extraction, errors in OpenAI's
 * envelope; the page and its assets; and --no-ui.
 */
let dataDir: string;
let assets: string;
let server: TestServer;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'qwen3-ui-api-'));
  assets = await buildTestUiAssets();
  server = await startTestServer({ ui: true, uiAssetsDir: assets, dataDir });
});

afterAll(async () => {
  await server?.handle.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const json = async <T>(response: Response | Promise<Response>): Promise<T> => (await response).json() as Promise<T>;
const call = (method: string, path: string, body?: unknown) =>
  fetch(`${server.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

describe('the page and its assets', () => {
  it('serves the page at / and its bundled script and styles, nothing else under /ui/assets', async () => {
    const page = await fetch(server.url);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/ui/assets/app.js">');
    // No CDN: every script and stylesheet is the server's own.
    expect(html).not.toMatch(/(src|href)="https?:/);
    const script = await fetch(`${server.url}/ui/assets/app.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await script.text()).length).toBeGreaterThan(50_000);
    const css = await (await fetch(`${server.url}/ui/assets/app.css`)).text();
    // highlight.js's themes, scoped to the page's themes.
    expect(css).toMatch(/\[data-theme=(dark|"dark"|'dark')\] \.hljs/);
    // The page alone opens no database: ui.sqlite appears with the first call of the page's API.
    expect(existsSync(join(dataDir, UI_DATABASE_FILE))).toBe(false);
    const missing = await fetch(`${server.url}/ui/assets/secret.txt`);
    expect(missing.status).toBe(404);
    expect(await json(missing)).toMatchObject({ error: { type: 'not_found_error' } });
  });
});

describe('conversations', () => {
  it('are created, listed newest first, changed, exported and deleted', async () => {
    const first = await json<Conversation>(call('POST', '/ui/api/conversations', { title: 'First' }));
    expect(first).toMatchObject({ title: 'First', system_prompt: '', messages: [], params: { thinking: false } });
    const second = await json<Conversation>(
      call('POST', '/ui/api/conversations', {
        title: 'Contract review',
        system_prompt: 'You are a paralegal.',
        params: { temperature: 0.2, top_p: 0.9, top_k: 40, max_tokens: 300, seed: 5, thinking: true },
        messages: [
          { role: 'user', content: 'Who pays?' },
          { role: 'assistant', content: 'The **Buyer** pays.', reasoning: 'Clause 4 says so.' },
        ],
      }),
    );
    const list = await json<{ data: { id: string }[] }>(fetch(`${server.url}/ui/api/conversations`));
    expect(list.data.map((c) => c.id).slice(0, 2)).toEqual([second.id, first.id]);

    const renamed = await json<Conversation>(call('PUT', `/ui/api/conversations/${first.id}`, { title: 'Renamed' }));
    expect(renamed.title).toBe('Renamed');
    expect(renamed.updated_at).toBeGreaterThanOrEqual(first.updated_at);

    const markdown = await fetch(`${server.url}/ui/api/conversations/${second.id}/export?format=markdown`);
    expect(markdown.headers.get('content-disposition')).toBe('attachment; filename="Contract-review.md"');
    const text = await markdown.text();
    expect(text).toContain('# Contract review');
    expect(text).toContain('## System\n\nYou are a paralegal.');
    expect(text).toContain('<details><summary>Reasoning</summary>\n\nClause 4 says so.');
    expect(text).toContain('## Assistant\n');
    const exported = await json<Conversation>(fetch(`${server.url}/ui/api/conversations/${second.id}/export?format=json`));
    expect(exported).toEqual(await json<Conversation>(fetch(`${server.url}/ui/api/conversations/${second.id}`)));

    expect(await json(call('DELETE', `/ui/api/conversations/${first.id}`))).toEqual({ id: first.id, object: 'conversation', deleted: true });
    const gone = await call('GET', `/ui/api/conversations/${first.id}`);
    expect(gone.status).toBe(404);
    expect(await json(gone)).toMatchObject({ error: { type: 'not_found_error', code: 'conversation_not_found' } });
  });

  it('refuses bad fields with a 400 naming the field', async () => {
    const response = await call('POST', '/ui/api/conversations', { messages: [{ role: 'system', content: 'x' }] });
    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ error: { type: 'invalid_request_error', param: 'messages.0.role' } });
    const badParams = await call('POST', '/ui/api/conversations', { params: { temperature: 5, top_p: 1, top_k: 1, max_tokens: 1, seed: null, thinking: false } });
    expect(await json(badParams)).toMatchObject({ error: { param: 'params.temperature' } });
    const badFormat = await fetch(`${server.url}/ui/api/conversations/x/export?format=pdf`);
    expect(badFormat.status).toBe(400);
  });

  it('survive a restart on the same data directory (ui.sqlite)', async () => {
    const kept = await json<Conversation>(call('POST', '/ui/api/conversations', { title: 'Kept', messages: [{ role: 'user', content: 'still here?' }] }));
    await server.handle.close();
    expect(existsSync(join(dataDir, UI_DATABASE_FILE))).toBe(true);
    server = await startTestServer({ ui: true, uiAssetsDir: assets, dataDir });
    expect(await json<Conversation>(fetch(`${server.url}/ui/api/conversations/${kept.id}`))).toMatchObject({ title: 'Kept', messages: [{ content: 'still here?' }] });
  });
});

describe('templates', () => {
  it('lists the built-in ones, adds and deletes the user own, and keeps built-ins', async () => {
    const builtIn = await json<{ data: { id: string; name: string; builtin: boolean }[] }>(fetch(`${server.url}/ui/api/templates`));
    expect(builtIn.data.map((t) => t.name)).toEqual(['Summarise a contract', 'Translate', 'Review code', 'Extract JSON by a schema']);
    const mine = await json<{ id: string; builtin: boolean }>(call('POST', '/ui/api/templates', { name: 'Haiku', prompt: 'Write a haiku about {{text}}' }));
    expect(mine.builtin).toBe(false);
    const listed = await json<{ data: { id: string }[] }>(fetch(`${server.url}/ui/api/templates`));
    expect(listed.data.at(-1)).toMatchObject({ id: mine.id, name: 'Haiku', prompt: 'Write a haiku about {{text}}' });
    expect((await call('DELETE', `/ui/api/templates/${mine.id}`)).status).toBe(200);
    expect((await call('DELETE', '/ui/api/templates/builtin-translate')).status).toBe(404);
    expect((await call('POST', '/ui/api/templates', { name: ' ', prompt: 'x' })).status).toBe(400);
  });
});

describe('documents', () => {
  const upload = (name: string, bytes: Uint8Array | string) => {
    const form = new FormData();
    form.append('file', new File([bytes], name));
    return fetch(`${server.url}/ui/api/documents`, { method: 'POST', body: form });
  };

  it('extracts the text of a PDF (every page) and of TXT/MD files', async () => {
    const lines = Array.from({ length: 50 }, (_, i) => `Line ${i + 1} (with parentheses)`);
    const pdf = await json<{ kind: string; pages: number; text: string; chars: number }>(upload('two-pages.pdf', textPdf(lines, 30)));
    expect(pdf).toMatchObject({ kind: 'pdf', pages: 2 });
    expect(pdf.text.split('\n').filter(Boolean)).toEqual(lines);
    expect(pdf.chars).toBe(pdf.text.length);
    expect(await json(upload('notes.md', '\uFEFF# Notes\n\n- one'))).toMatchObject({ kind: 'text', text: '# Notes\n\n- one', pages: null });
  });

  it('refuses other files, text that is not UTF-8 and broken PDFs with a 400', async () => {
    for (const [name, bytes, code] of [
      ['image.png', 'not really', 'unsupported_document'],
      ['latin1.txt', new Uint8Array([0x63, 0x61, 0x66, 0xe9]), 'invalid_text'],
      ['broken.pdf', '%PDF-1.4\nthis is not a PDF', 'invalid_pdf'],
    ] as const) {
      const response = await upload(name, bytes);
      expect(response.status, name).toBe(400);
      expect(await json(response)).toMatchObject({ error: { type: 'invalid_request_error', param: 'file', code } });
    }
  });
});

describe('serve --no-ui', () => {
  it('is on unless the flag or its variable turns it off', () => {
    const flags = (args: string[]) => {
      const command = serveCommand().action(() => {});
      command.parse(args, { from: 'user' });
      return command.opts();
    };
    expect(flags([]).ui).toBe(true);
    expect(flags(['--no-ui']).ui).toBe(false);
  });

  it('leaves / unanswered (404) when the UI is off', async () => {
    const plain = await startTestServer({ dataDir: mkdtempSync(join(tmpdir(), 'qwen3-no-ui-')) });
    try {
      expect((await fetch(plain.url)).status).toBe(404);
      expect((await fetch(`${plain.url}/ui/api/conversations`)).status).toBe(404);
    } finally {
      await plain.handle.close();
    }
  });
});
