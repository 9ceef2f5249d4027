import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { buildUiAssets } from '../../src/ui/build/build-ui-assets.js';

/** Debian's chromium (.ci/run installs it); CHROMIUM_PATH names another. playwright-core downloads no browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless chromium for one test file; close it in afterAll. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no browser at ${CHROMIUM_PATH}: install Debian's chromium (apt-get install chromium, as .ci/run does) or set CHROMIUM_PATH`);
  }
  // --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox'] });
}

/** The page built from the current sources into a fresh folder, for `uiAssetsDir` (tests never depend on a stale dist/). */
export async function buildTestUiAssets(): Promise<string> {
  return buildUiAssets(join(mkdtempSync(join(tmpdir(), 'qwen3-ui-')), 'ui'));
}
