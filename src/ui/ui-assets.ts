import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build` writes the page's files, relative to the package root. */
export const BUILT_UI_FOLDER = join('dist', 'ui');

/** The files of the page that the server answers with; anything else under /ui/assets is a 404. */
export const UI_FILES = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
} as const;
export type UiFile = keyof typeof UI_FILES;

/**
 * The package root: the nearest folder above this module with a package.json. This module runs
 * from src/ui (tests, tsx) or dist/src/ui (the built package), so a fixed relative path would be
 * right in only one of them.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('qwen3-serve: no package.json above the UI module');
    dir = parent;
  }
  return dir;
}

/**
 * The built page, read once: the files are small (a few hundred KB together) and never change
 * while the server runs. Null when they were never built (`npm run build` writes them).
 */
export function loadUiFiles(assetsDir: string): Map<UiFile, Buffer> | null {
  const files = new Map<UiFile, Buffer>();
  for (const name of Object.keys(UI_FILES) as UiFile[]) {
    const path = join(assetsDir, name);
    if (!existsSync(path)) return null;
    files.set(name, readFileSync(path));
  }
  return files;
}
