import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layering README's "Architecture" section describes, checked on the sources: each rule names
 * a layer and the layers it must never import (statically or with `import()`), so an arrow that
 * starts pointing the wrong way fails here rather than in a reader's head.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Layer -> folders (or files) it must not import from. Paths are relative to the repository root. */
const FORBIDDEN: Record<string, string[]> = {
  'scheduler/': ['src/', 'exporter/', 'loadtest/'],
  'src/model/': ['src/api/', 'src/batch/', 'src/engine/', 'src/convert/', 'src/commands/', 'src/server.ts', 'exporter/', 'loadtest/'],
  'src/convert/': ['src/api/', 'src/batch/', 'src/engine/', 'src/commands/', 'src/server.ts', 'exporter/', 'loadtest/'],
  'src/engine/': ['src/api/', 'src/batch/', 'src/convert/', 'src/commands/', 'src/server.ts', 'exporter/', 'loadtest/'],
  'src/api/': ['src/batch/', 'src/ui/', 'src/commands/', 'src/server.ts', 'src/load-model.ts', 'exporter/', 'loadtest/'],
  'src/batch/': ['src/ui/', 'src/commands/', 'src/server.ts', 'exporter/', 'loadtest/'],
  'src/ui/': ['src/batch/', 'src/engine/', 'src/model/', 'src/convert/', 'src/commands/', 'src/server.ts', 'src/load-model.ts', 'exporter/', 'loadtest/'],
  // The page's browser code: only the UI's shapes and pure text logic, nothing that needs Node.
  'src/ui/web/': ['src/api/', 'src/errors.ts', 'src/ui/storage/', 'src/ui/http/', 'src/ui/build/', 'src/ui/documents/extract-text.ts', 'src/ui/ui-routes.ts', 'src/ui/ui-assets.ts'],
  'exporter/': ['src/batch/', 'src/ui/', 'src/commands/', 'src/server.ts', 'loadtest/'],
  'loadtest/': ['src/commands/'],
  'src/engine/load-engine.ts': ['src/engine/worker/'],
};

const SOURCE_DIRS = ['src', 'scheduler', 'exporter', 'loadtest'];
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Each relative import of a file, as a repository-relative path. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => relative(root, resolve(root, dirname(file), m[1] ?? m[2])).replace(/\.js$/, '.ts'));
}

const within = (path: string, area: string) => (area.endsWith('/') ? path.startsWith(area) : path === area);

describe('import direction between layers', () => {
  const files = SOURCE_DIRS.flatMap(sourceFiles);

  it('finds the sources it checks', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(importsOf('src/server.ts').length).toBeGreaterThan(3);
  });

  it.each(Object.entries(FORBIDDEN))('%s imports none of its forbidden layers', (layer, forbidden) => {
    const violations = files
      .filter((file) => within(file, layer))
      .flatMap((file) => importsOf(file).filter((target) => forbidden.some((area) => within(target, area))).map((target) => `${file} -> ${target}`));
    expect(violations).toEqual([]);
  });

  it('exporter/ reaches the API only through the observability port the API declares', () => {
    const apiImports = files
      .filter((file) => within(file, 'exporter/'))
      .flatMap(importsOf)
      .filter((target) => within(target, 'src/api/'));
    expect(new Set(apiImports)).toEqual(new Set(['src/api/observability.ts']));
  });
});
