import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, transform } from 'esbuild';
import { BUILT_UI_FOLDER, packageRoot } from '../ui-assets.js';

/** Browsers the bundle is written for: those with <dialog>, :has() and ES2022. */
const TARGETS = ['chrome110', 'firefox115', 'safari16'];

/**
 * Builds the page into `outDir` (default dist/ui): the browser code bundled by esbuild into one
 * minified app.js (marked, DOMPurify and highlight.js inside: no CDN), the page's styles with
 * highlight.js's GitHub themes scoped to the page's dark and light themes in app.css, and
 * index.html. Written to a staging folder and renamed into place, so a server reading the folder
 * never sees half of a build. Runs at `npm run build` (and so at `npm install` through `prepare`)
 * from the built package, and in tests from the sources.
 */
export async function buildUiAssets(outDir = join(packageRoot(), BUILT_UI_FOLDER)): Promise<string> {
  const root = packageRoot();
  const web = join(root, 'src', 'ui', 'web');
  const staging = `${outDir}.staging-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    await build({
      entryPoints: [join(web, 'main.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: TARGETS,
      minify: true,
      legalComments: 'eof',
      outfile: join(staging, 'app.js'),
      logLevel: 'silent',
      absWorkingDir: root,
    });
    writeFileSync(join(staging, 'app.css'), await pageStyles(join(web, 'app.css')));
    writeFileSync(join(staging, 'index.html'), readFileSync(join(web, 'index.html')));
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(dirname(outDir), { recursive: true });
    renameSync(staging, outDir);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  return outDir;
}

/** The page's CSS followed by highlight.js's github-dark and github themes, each nested under its page theme, minified. */
async function pageStyles(appCss: string): Promise<string> {
  const require = createRequire(import.meta.url);
  const theme = (name: string) => readFileSync(require.resolve(`highlight.js/styles/${name}.css`), 'utf8');
  const css = [
    readFileSync(appCss, 'utf8'),
    `:root[data-theme='dark'] { ${theme('github-dark')} }`,
    `:root[data-theme='light'] { ${theme('github')} }`,
  ].join('\n');
  // Lowered for the targets: the nesting above becomes plain selectors.
  return (await transform(css, { loader: 'css', minify: true, target: TARGETS })).code;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outDir = await buildUiAssets(process.argv[2] ? resolve(process.argv[2]) : undefined);
  process.stdout.write(`qwen3-serve: web UI built into ${outDir}\n`);
}
