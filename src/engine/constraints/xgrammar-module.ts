import { readFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type * as XGrammar from '@mlc-ai/web-xgrammar';

/**
 * Loads @mlc-ai/web-xgrammar, xgrammar's WebAssembly build (the grammar engine behind vLLM's
 * structured outputs), in Node.
 *
 * Why not a plain `import`: the package declares `"type": "module"` but its `lib/index.js` is a
 * UMD bundle whose Emscripten glue reads `require` and `__filename` in Node, which an ES module
 * does not have, so importing it throws. The same file runs fine as the CommonJS script it is:
 * it is compiled here with a Function taking CommonJS's parameters, once per thread (each worker
 * thread gets its own WebAssembly instance, which is what xgrammar's objects need: they cannot
 * cross threads).
 *
 * Its one dynamic `import('module')` (for createRequire) is pointed at Node's `module`, handed in
 * as a parameter: code compiled by a Function has no module context to import from in every host
 * (vitest's runner has none), and the answer is the same builtin either way.
 *
 * The glue also writes xgrammar's C++ `[FATAL]` messages (the reason a schema is refused) to
 * `console.error` before throwing a bare `Aborted()`. It is handed a console of its own whose
 * `error` goes to `diagnostics`, so callers can turn that reason into an error message instead of
 * noise on the server's stderr.
 */
export type XGrammarModule = typeof XGrammar;

export interface LoadedXGrammar {
  xgrammar: XGrammarModule;
  /** Collects the lines the C++ side prints while `fn` runs; see `withDiagnostics`. */
  withDiagnostics<T>(fn: () => Promise<T>): Promise<{ result?: T; error?: unknown; lines: string[] }>;
}

let loaded: LoadedXGrammar | null = null;

export function loadXGrammar(): LoadedXGrammar {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const path = require.resolve('@mlc-ai/web-xgrammar');
  let sink: string[] | null = null;
  const quietConsole = {
    ...console,
    // Lines printed while nobody collects them are dropped: they are always followed by a throw
    // that the caller reports.
    error: (...parts: unknown[]) => sink?.push(parts.map(String).join(' ')),
    warn: (...parts: unknown[]) => sink?.push(parts.map(String).join(' ')),
  };
  const module = { exports: {} as XGrammarModule };
  const source = readFileSync(path, 'utf8').replace("import('module')", 'Promise.resolve(__nodeModule)');
  const script = new Function('exports', 'require', 'module', '__filename', '__dirname', 'console', '__nodeModule', source);
  script(module.exports, require, module, path, dirname(path), quietConsole, nodeModule);
  const xgrammar = module.exports;
  // One collection at a time: the sink is shared, so overlapping calls would mix their lines.
  let queue: Promise<unknown> = Promise.resolve();
  loaded = {
    xgrammar,
    withDiagnostics(fn) {
      const run = async () => {
        const lines: string[] = [];
        sink = lines;
        try {
          return { result: await fn(), lines };
        } catch (error) {
          return { error, lines };
        } finally {
          sink = null;
        }
      };
      const next = queue.then(run, run);
      queue = next;
      return next;
    },
  };
  return loaded;
}

/**
 * xgrammar's reason for refusing a grammar, from the lines it printed: `[FATAL] /path/x.cc:75:
 * Regex parsing error at position 3: ...` becomes `Regex parsing error at position 3: ...`.
 */
export function xgrammarReason(lines: readonly string[], error: unknown): string {
  const fatal = lines.find((line) => line.includes('[FATAL]'));
  if (fatal) return fatal.replace(/^.*?\[FATAL\]\s*\S+?:\d+:\s*/, '').replace(/^Check failed:.*?is false:\s*/, '').trim();
  return error instanceof Error ? error.message : String(error);
}
