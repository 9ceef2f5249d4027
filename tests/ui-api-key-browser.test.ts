import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestUiAssets, launchChromium } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/**
 * The chat page on a server started with --api-key: the page itself loads without a key, its
 * first API call is refused, and it asks for the key, keeps it in the browser and retries.
 */
const KEY = 'sk-ui-test-key';
let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startTestServer({ ui: true, uiAssetsDir: await buildTestUiAssets(), apiKey: KEY });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.handle.close();
});

describe('chat page with --api-key', () => {
  it('asks for the key, says when one is refused, and keeps the right one in localStorage only', async () => {
    // The page's own API is keyed like /v1; the page is not.
    expect((await fetch(`${server.url}/ui/api/conversations`)).status).toBe(401);
    expect((await fetch(server.url)).status).toBe(200);

    const page = await browser.newPage();
    await page.goto(server.url);
    const dialog = page.locator('#key-dialog');
    await dialog.locator('input').waitFor();
    await expect(dialog.locator('.key-reason').textContent()).resolves.toBe('This server requires an API key.');

    await dialog.locator('input').fill('sk-wrong');
    await dialog.locator('input').press('Enter');
    await dialog.locator('.key-reason', { hasText: 'The server refused the key: incorrect API key' }).waitFor();

    await page.getByRole('textbox', { name: 'API key' }).fill(KEY);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await dialog.waitFor({ state: 'hidden' });
    // The calls the dialog held back went through: the templates are listed.
    await page.locator('#template-select option', { hasText: 'Summarise a contract' }).waitFor({ state: 'attached' });
    await expect(page.evaluate("localStorage.getItem('qwen3-serve.apiKey')")).resolves.toBe(KEY);

    // A chat turn goes through with the stored key and is saved.
    await page.click('#settings-toggle');
    await page.fill('#settings [name="max_tokens"]', '16');
    await page.press('#settings [name="max_tokens"]', 'Tab');
    await page.fill('#prompt', 'hello');
    await page.press('#prompt', 'Enter');
    await page.locator('.message.assistant .answer').waitFor();
    await page.locator('#send:not([disabled])').waitFor({ timeout: 60_000 });
    const list = (await (await fetch(`${server.url}/ui/api/conversations`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { data: unknown[] };
    expect(list.data).toHaveLength(1);

    // A reload asks no more; "Forget API key" removes it.
    await page.reload();
    await page.locator('#template-select option', { hasText: 'Translate' }).waitFor({ state: 'attached' });
    await expect(dialog.isVisible()).resolves.toBe(false);
    await page.click('#forget-key');
    await expect(page.evaluate("localStorage.getItem('qwen3-serve.apiKey')")).resolves.toBeNull();
    await page.close();
  });
});
