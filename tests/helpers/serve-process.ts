import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ServeProcess {
  child: ChildProcess;
  /** The URL from the server's "listening" log line. */
  url: Promise<string>;
  stdout: () => string;
  stderr: () => string;
  /** The exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/**
 * `qwen3-serve serve` in a child process, run from the TypeScript sources through tsx (so a stale
 * dist/ cannot fool the test). Its pino lines on stdout give the bound URL. `fileSizeKiB` caps
 * every file the process writes (bash's `ulimit -f`), which makes its data directory "full".
 */
export function spawnServe(args: string[], env: Record<string, string> = {}, limits: { fileSizeKiB?: number } = {}): ServeProcess {
  const command = [process.execPath, '--import', 'tsx', join(root, 'src/cli.ts'), 'serve', ...args];
  // RLIMIT_FSIZE: a write past the limit fails with EFBIG (Node ignores SIGXFSZ), as on a full disk.
  const [file, ...argv] = limits.fileSizeKiB === undefined ? command : ['bash', '-c', `ulimit -f ${limits.fileSizeKiB} && exec "$@"`, 'bash', ...command];
  const child = spawn(file, argv, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"url":"(http:[^"]+)"/.exec(out);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening:\n${out}\n${err}`)));
  });
  url.catch(() => {});
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, url, stdout: () => out, stderr: () => err, exited };
}

/** Polls GET /ready until it answers 200 (bounded; fails at once if the process exits). */
export async function waitReady(server: ServeProcess, timeoutMs = 60_000): Promise<void> {
  const url = await server.url;
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void server.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`serve exited before it was ready:\n${server.stdout()}\n${server.stderr()}`);
    const status = await fetch(`${url}/ready`).then((r) => r.status, () => 0);
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} was not ready within ${timeoutMs} ms`);
}
