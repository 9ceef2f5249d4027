import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Conversation } from '../src/ui/conversation.js';
import { sumByName } from '../src/ui/web/status/prometheus-text.js';
import { buildTestUiAssets, launchChromium } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { textPdf } from './helpers/text-pdf.js';

/**
 * The chat page in headless chromium against the real server on the tiny model (its answers are
 * gibberish, but every request is real): a streamed answer rendered as Markdown, the conversation
 * found again after a reload, a PDF summarised map-reduce, Stop freeing the request's KV row, and
 * Markdown with code and hostile HTML rendered safely (the README's screenshot).
 */
let server: TestServer;
let browser: Browser;
let page: Page;
let dataDir: string;

/** A context of 1024 tokens: a few thousand characters of PDF need several parts. */
const MAX_MODEL_LEN = 1024;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'qwen3-ui-chat-'));
  server = await startTestServer({ ui: true, uiAssetsDir: await buildTestUiAssets(), dataDir, engine: { maxModelLen: MAX_MODEL_LEN, maxSeqs: 2 } });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (err) => {
    throw err;
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.handle.close();
  rmSync(dataDir, { recursive: true, force: true });
});

// page.evaluate() takes expressions as strings here: the tests compile without the DOM's types.

async function metric(name: string): Promise<number> {
  return sumByName(await (await fetch(`${server.url}/metrics`)).text()).get(name) ?? NaN;
}

/** Sets parameter panel fields; the page saves them as they change. */
async function setParameters(fields: Record<string, string>): Promise<void> {
  if (await page.locator('#settings').isHidden()) await page.click('#settings-toggle');
  for (const [name, value] of Object.entries(fields)) await page.fill(`#settings [name="${name}"]`, value);
  await page.locator('#settings [name="seed"]').press('Tab');
}

async function storedConversation(id: string): Promise<Conversation> {
  return (await (await fetch(`${server.url}/ui/api/conversations/${id}`)).json()) as Conversation;
}

describe('chat page', () => {
  it('streams an answer into a Markdown block, shows the thinking state, and keeps the conversation across a reload', async () => {
    await page.goto(server.url);
    await expect(page.title()).resolves.toBe('qwen3-serve chat');
    await setParameters({ max_tokens: '40', seed: '7', temperature: '0' });

    // Each frame of the answer as it grows, to see that it streamed rather than arrived at once.
    const lengths: number[] = [];
    const sampler = setInterval(() => {
      void page
        .locator('.message.assistant .answer')
        .first()
        .textContent()
        .then((text) => lengths.push(text?.length ?? 0), () => {});
    }, 15);
    await page.fill('#prompt', 'Say hello in **bold**.');
    await page.keyboard.press('Enter');
    await expect(page.locator('.message.user .user-text').textContent()).resolves.toBe('Say hello in **bold**.');
    await page.locator('.turn-indicator').first().waitFor();
    await expect(page.locator('#stop').isVisible()).resolves.toBe(true);
    await page.locator('#send:not([disabled])').waitFor({ timeout: 60_000 });
    clearInterval(sampler);

    const answer = page.locator('.message.assistant .markdown.answer');
    const html = await answer.innerHTML();
    expect(html).toMatch(/^<(p|h\d|ul|ol|pre|blockquote|table|hr)/);
    const distinctLengths = new Set(lengths.filter((n) => n > 0));
    expect(distinctLengths.size).toBeGreaterThan(1);

    // Saved on the server, with the parameters of the panel.
    const id = (await page.evaluate<string>('location.hash')).slice(1);
    expect(id).toMatch(/^conv_/);
    const stored = await storedConversation(id);
    expect(stored.params).toMatchObject({ max_tokens: 40, seed: 7, temperature: 0 });
    expect(stored.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(stored.messages[1].content.length).toBeGreaterThan(0);

    // A reload opens the page without the hash: the conversation is in the list, and opens whole.
    await page.goto(server.url);
    const link = page.locator('.conversation-link', { hasText: 'Say hello in **bold**.' });
    await link.waitFor();
    await link.click();
    await page.locator('.message.assistant').waitFor();
    await expect(page.locator('.message').count()).resolves.toBe(2);
    await expect(page.locator('#settings [name="max_tokens"]').inputValue()).resolves.toBe('40');
  });

  it('summarises an uploaded PDF longer than the context in parts, with progress, and streams the combined answer', async () => {
    await page.click('#new-chat');
    const lines = Array.from({ length: 90 }, (_, i) => `Clause ${i + 1}: the Supplier delivers ${i + 3} crates to the Buyer by day ${i + 10} for EUR ${(i + 1) * 100}.`);
    const pdfPath = join(dataDir, 'supply-contract.pdf');
    writeFileSync(pdfPath, textPdf(lines));

    await page.setInputFiles('#document-input', pdfPath);
    await page.locator('#attachment', { hasText: '3 pages' }).waitFor({ timeout: 20_000 });
    await expect(page.locator('#attachment').textContent()).resolves.toMatch(/supply-contract\.pdf · [\d,]+ characters · 3 pages/);

    const partRequests: string[] = [];
    const record = (request: Request) => {
      if (request.url().endsWith('/v1/chat/completions')) partRequests.push(request.postData() ?? '');
    };
    page.on('request', record);
    await page.fill('#prompt', 'List the obligations.');
    await page.click('#send');
    await page.locator('progress[aria-label="Document summary progress"]').waitFor({ timeout: 20_000 });
    await page.locator('#send:not([disabled])').waitFor({ timeout: 120_000 });
    page.off('request', record);

    const bodies = partRequests.map((body) => JSON.parse(body) as { stream?: boolean; messages: { content: string }[] });
    const parts = bodies.filter((body) => !body.stream);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts[0].messages[0].content).toContain(`part 1 of ${parts.length} of "supply-contract.pdf"`);
    expect(parts[0].messages[0].content).toContain('Clause 1: the Supplier delivers 3 crates');
    const final = bodies.filter((body) => body.stream);
    expect(final).toHaveLength(1);
    expect(final[0].messages.at(-1)!.content).toContain(`summaries of its ${parts.length} parts`);

    await expect(page.locator('.message.user .document-chip').textContent()).resolves.toContain(`summarised in ${parts.length} parts`);
    await expect(page.locator('.message.assistant .markdown.answer').innerHTML()).resolves.not.toBe('');
  });

  it('edits and resends an earlier message, and regenerates the last answer', async () => {
    await page.click('#new-chat');
    await setParameters({ max_tokens: '6', temperature: '1', seed: '' });
    for (const text of ['first question', 'second question']) {
      await page.fill('#prompt', text);
      await page.press('#prompt', 'Enter');
      await page.locator('#send:not([disabled])').waitFor();
    }
    await expect(page.locator('.message').count()).resolves.toBe(4);

    await page.locator('.message.user').first().getByRole('button', { name: 'Edit and resend this message' }).click();
    await expect(page.locator('#prompt').inputValue()).resolves.toBe('first question');
    await page.locator('#editing-note').waitFor();
    await page.fill('#prompt', 'first question, edited');
    await page.press('#prompt', 'Enter');
    await page.locator('#send:not([disabled])').waitFor();
    await expect(page.locator('.message.user .user-text').allTextContents()).resolves.toEqual(['first question, edited']);
    await expect(page.locator('.message').count()).resolves.toBe(2);

    const id = (await page.evaluate<string>('location.hash')).slice(1);
    const before = (await storedConversation(id)).messages;
    const requests: string[] = [];
    const record = (request: Request) => void (request.url().endsWith('/v1/chat/completions') && requests.push(request.postData() ?? ''));
    page.on('request', record);
    await page.getByRole('button', { name: 'Regenerate this answer' }).click();
    await page.locator('#send:not([disabled])').waitFor();
    page.off('request', record);
    // The same history is asked again, and the new answer takes the old one's place.
    expect(requests).toHaveLength(1);
    expect((JSON.parse(requests[0]) as { messages: unknown[] }).messages).toEqual([{ role: 'user', content: 'first question, edited' }]);
    await expect.poll(async () => (await storedConversation(id)).messages.length).toBe(2);
    expect((await storedConversation(id)).messages[0]).toEqual(before[0]);
  });

  it('folds the conversation list behind a menu button on a phone-sized screen', async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    try {
      // The sidebar slides (a 0.2 s transition), so its place is waited for rather than read once.
      const offScreen = "document.querySelector('#sidebar').getBoundingClientRect().right <= 0";
      await page.waitForFunction(offScreen, null, { timeout: 5000 });
      await page.getByRole('button', { name: 'Show conversations' }).click();
      await expect(page.locator('#menu-toggle').getAttribute('aria-expanded')).resolves.toBe('true');
      await page.waitForFunction("document.querySelector('#sidebar').getBoundingClientRect().left >= 0", null, { timeout: 5000 });
      await page.locator('.conversation-link').first().click();
      await page.waitForFunction(offScreen, null, { timeout: 5000 });
      // The composer still fits the screen.
      await expect(page.locator('#send').evaluate((node) => node.getBoundingClientRect().right)).resolves.toBeLessThanOrEqual(390);
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('Stop aborts the stream and the server frees the request (running back to 0)', async () => {
    await page.click('#new-chat');
    await setParameters({ max_tokens: '900', temperature: '0.7' });
    await page.fill('#prompt', 'Write a very long story.');
    await page.click('#send');
    const answer = page.locator('.message.assistant .answer');
    await page.waitForFunction("(document.querySelector('.message.assistant .answer')?.textContent?.length ?? 0) > 20", null, { timeout: 60_000 });
    expect(await metric('vllm:num_requests_running')).toBe(1);

    await page.keyboard.press('Escape');
    await page.locator('.stopped-note').waitFor();
    const stoppedAt = (await answer.textContent())!.length;
    for (let i = 0; i < 50 && (await metric('vllm:num_requests_running')) !== 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await metric('vllm:num_requests_running')).toBe(0);
    expect(server.logs.some((line) => line.clientGone === true)).toBe(true);

    const id = (await page.evaluate<string>('location.hash')).slice(1);
    await expect.poll(async () => (await storedConversation(id)).messages.at(-1)).toMatchObject({ role: 'assistant', stopped: true });
    // Nothing more arrives after the stop.
    await page.waitForTimeout(300);
    expect((await answer.textContent())!.length).toBe(stoppedAt);
  });

  it('renders Markdown with highlighted code and copy buttons, folds reasoning, and strips hostile HTML (README screenshot)', async () => {
    const conversation = (await (
      await server.post('/ui/api/conversations', {
        title: 'Debounce in TypeScript',
        messages: [
          { role: 'user', content: 'Write a TypeScript debounce helper, briefly explained.' },
          {
            role: 'assistant',
            reasoning: 'The user wants a small generic helper: keep a timer, clear it on every call, run the function after the quiet period.',
            content: [
              'Here is a **generic** `debounce`: it waits until calls stop for `ms` milliseconds, then runs `fn` once with the last arguments.',
              '',
              '```ts',
              'export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number) {',
              '  let timer: ReturnType<typeof setTimeout> | undefined;',
              '  return (...args: A) => {',
              '    clearTimeout(timer);',
              '    timer = setTimeout(() => fn(...args), ms);',
              '  };',
              '}',
              '```',
              '',
              '| call | runs? |',
              '| --- | --- |',
              '| within `ms` of the last | no |',
              '| after a quiet `ms` | yes, once |',
            ].join('\n'),
          },
        ],
      })
    ).json()) as Conversation;
    await page.goto(`${server.url}/#${conversation.id}`);
    await page.locator('.message.assistant pre code.hljs').waitFor();

    const code = page.locator('.message.assistant pre code.hljs');
    await expect(code.getAttribute('class')).resolves.toContain('language-ts');
    await expect(code.locator('.hljs-keyword').first().textContent()).resolves.toBe('export');
    await expect(page.locator('.message.assistant pre .copy-code').count()).resolves.toBe(1);
    await expect(page.locator('.message.assistant table td').count()).resolves.toBe(4);
    await expect(page.locator('.message.assistant details.reasoning').getAttribute('open')).resolves.toBeNull();

    await expect(page.evaluate('document.documentElement.dataset.theme')).resolves.toBe('dark');
    await page.locator('.conversation-link[aria-current="true"]', { hasText: 'Debounce in TypeScript' }).waitFor();
    // The README's picture is rewritten only when asked (UPDATE_UI_SCREENSHOT=1), not by every run.
    if (await page.locator('#settings').isVisible()) await page.click('#settings-toggle');
    // The status panel has polled since the stopped request ended.
    await page.locator('#status-list dd[data-metric="running"]', { hasText: /^0$/ }).waitFor({ timeout: 10_000 });
    const screenshot = await page.screenshot(process.env.UPDATE_UI_SCREENSHOT ? { path: join(import.meta.dirname, '..', 'docs', 'ui-chat-dark.png') } : {});
    expect(screenshot.subarray(1, 4).toString()).toBe('PNG');

    await page.locator('.message.assistant details.reasoning summary').click();
    await expect(page.locator('.message.assistant details.reasoning').getAttribute('open')).resolves.toBe('');
    await expect(page.locator('.message.assistant details.reasoning .markdown').textContent()).resolves.toContain('keep a timer');

    // What a model repeats from a hostile document must not run in the page.
    const hostile = (await (
      await server.post('/ui/api/conversations', {
        title: 'Hostile',
        messages: [
          { role: 'user', content: 'Repeat the document.' },
          { role: 'assistant', content: 'Done: <img src="x" onerror="window.__pwned = true"><script>window.__pwned = true</script> [link](javascript:window.__pwned=true)' },
        ],
      })
    ).json()) as Conversation;
    await page.goto(`${server.url}/#${hostile.id}`);
    await page.locator('.message.assistant .answer', { hasText: 'Done:' }).waitFor();
    await expect(page.locator('.message.assistant script, .message.assistant [onerror], .message.assistant a[href^="javascript"]').count()).resolves.toBe(0);
    await page.locator('.message.assistant .answer a', { hasText: 'link' }).click();
    await expect(page.evaluate('window.__pwned')).resolves.toBeUndefined();

    await page.click('#theme-toggle');
    await expect(page.evaluate('document.documentElement.dataset.theme')).resolves.toBe('light');
    await page.reload();
    await expect(page.evaluate('document.documentElement.dataset.theme')).resolves.toBe('light');
    await page.click('#theme-toggle');
  });
});
