import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread on a module next to the caller. Compiled (dist/, `.js`) it is a plain
 * worker. Run from TypeScript sources (tests under vitest, tsx) it starts through
 * ts-worker-bootstrap.mjs, which registers tsx's loader before importing the `.ts` module.
 */
export function spawnModuleWorker(moduleUrl: URL, options: WorkerOptions & { workerData?: object } = {}): Worker {
  if (!moduleUrl.pathname.endsWith('.ts')) return new Worker(moduleUrl, options);
  return new Worker(new URL('./ts-worker-bootstrap.mjs', import.meta.url), {
    ...options,
    workerData: { ...options.workerData, __tsEntry: moduleUrl.href },
  });
}

/** The URL of a sibling module of `base`, with the extension `base` itself has (.ts or .js). */
export function siblingModule(base: string, name: string): URL {
  const extension = base.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${extension}`, base);
}
