import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { ServeError } from '../../errors.js';
import type { EngineConfig } from '../engine-config.js';
import type { EngineCore } from '../engine-core.js';
import { loadEngine } from '../load-engine.js';
import type { FromWorker, ToWorker } from './protocol.js';

/**
 * The engine's thread. onnxruntime's session.run() blocks its thread for a whole forward pass,
 * so the model lives here and the HTTP server's event loop stays free. The loop steps while there
 * is work and sleeps until a message arrives when there is none; between steps it yields so
 * queued `add` / `abort` messages are taken before the next schedule().
 */

function requireParentPort(): MessagePort {
  if (!parentPort) throw new Error('engine-worker must run in a worker thread');
  return parentPort;
}

const port = requireParentPort();
const post = (message: FromWorker) => port.postMessage(message);

let core: EngineCore | undefined;
let shuttingDown = false;
let wake: (() => void) | undefined;
/** Messages that arrive while the model is still loading, replayed once it is ready. */
const early: ToWorker[] = [];

function handle(message: ToWorker): void {
  if (message.type === 'shutdown') {
    shuttingDown = true;
  } else if (!core) {
    early.push(message);
  } else if (message.type === 'add') {
    const { request } = message;
    // A request with a grammar joins once it is compiled: wake the loop then, it may be asleep.
    core.addRequest(request).then(
      () => wake?.(),
      (err: unknown) => post({ type: 'rejected', requestId: request.id, error: asServeError(err).toJSON() }),
    );
  } else {
    core.abort(message.requestId);
  }
  wake?.();
}

port.on('message', handle);

async function run(): Promise<void> {
  const loaded = await loadEngine(workerData as EngineConfig);
  core = loaded.core;
  post({ type: 'ready', info: loaded.info });
  for (const message of early.splice(0)) handle(message);
  while (!shuttingDown) {
    if (!core.hasWork()) {
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      continue;
    }
    const { events, report } = await core.step();
    post({ type: 'step', events, report });
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await core.close();
  port.close();
}

function asServeError(err: unknown): ServeError {
  if (err instanceof ServeError) return err;
  return new ServeError('server_error', (err as Error)?.message ?? String(err), { code: 'engine_error' });
}

run().catch((err: unknown) => {
  post({ type: 'fatal', error: asServeError(err).toJSON() });
  port.close();
});
