import { fork } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Runs a module in a fresh Node process with an IPC channel and resolves with the first message
 * it sends. Compiled (dist/, `.js`) it runs as is; from TypeScript sources (vitest, tsx) the child
 * loads tsx first. `argument` is passed as JSON in argv[2]. stdout and stderr are the parent's,
 * so the child's progress and errors show where the bench prints.
 */
export function runInChildProcess<T>(moduleUrl: URL, argument: unknown): Promise<T> {
  const execArgv = moduleUrl.pathname.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = fork(moduleUrl, [JSON.stringify(argument)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    child.once('message', (message: { ok: true; result: T } | { ok: false; error: string }) => {
      settled = true;
      if (message.ok) resolve(message.result);
      else reject(new Error(`${moduleUrl.pathname} failed:\n${message.error}`));
    });
    child.once('error', (err) => {
      settled = true;
      reject(err);
    });
    child.once('exit', (code, signal) => {
      if (!settled) reject(new Error(`${moduleUrl.pathname} exited (code ${code}, signal ${signal}) without a result`));
    });
  });
}

/**
 * The child's side of runInChildProcess: when the module at `moduleUrl` (its import.meta.url) is
 * the one this forked process was started with, runs `work` on the JSON argument and sends the
 * result (or the error) back. A module only imported by that child, for its exports, runs nothing.
 */
export function answerParentProcess<P, T>(moduleUrl: string, work: (argument: P) => Promise<T>): void {
  const send = process.send?.bind(process);
  if (!send || !process.argv[2] || !process.argv[1] || realpathSync(process.argv[1]) !== realpathSync(fileURLToPath(moduleUrl))) return;
  work(JSON.parse(process.argv[2]) as P).then(
    (result) => send({ ok: true, result }, () => process.exit(0)),
    (err: unknown) => send({ ok: false, error: (err as Error)?.stack ?? String(err) }, () => process.exit(1)),
  );
}
