import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Runs a module in a fresh Node process with an IPC channel and resolves with the first message
 * it sends. Compiled (dist/, `.js`) it runs as is; from TypeScript sources (vitest, tsx) the child
 * loads tsx first. `argument` goes as JSON in a temporary file whose path is argv[2] (not in argv
 * itself, where the kernel caps a string at 128 KiB: the contract workload's token ids are
 * larger); the file is removed when the child ends. stdout and stderr are the parent's, so the child's progress and errors show where the bench prints.
 */
export function runInChildProcess<T>(moduleUrl: URL, argument: unknown): Promise<T> {
  const execArgv = moduleUrl.pathname.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const folder = mkdtempSync(join(tmpdir(), 'bench-child-'));
  const argumentFile = join(folder, 'argument.json');
  writeFileSync(argumentFile, JSON.stringify(argument));
  const child = fork(moduleUrl, [argumentFile], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.once('exit', () => rmSync(folder, { recursive: true, force: true }));
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
 * the one this forked process was started with, runs `work` on the argument the parent wrote
 * and sends the result (or the error) back. A module only imported by that child, for its
 * exports, runs nothing.
 */
export function answerParentProcess<P, T>(moduleUrl: string, work: (argument: P) => Promise<T>): void {
  const send = process.send?.bind(process);
  if (!send || !process.argv[2] || !process.argv[1] || realpathSync(process.argv[1]) !== realpathSync(fileURLToPath(moduleUrl))) return;
  work(JSON.parse(readFileSync(process.argv[2], 'utf8')) as P).then(
    (result) => send({ ok: true, result }, () => process.exit(0)),
    (err: unknown) => send({ ok: false, error: (err as Error)?.stack ?? String(err) }, () => process.exit(1)),
  );
}
