import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What a benchmark server is started with: `qwen3-serve serve` flags. */
export interface ServerProcessOptions {
  modelDir: string;
  maxSeqs: number;
  maxWaiting: number;
  threads?: number;
  maxNumBatchedTokens?: number;
  maxPrefillChunk?: number;
  maxModelLen?: number;
}

/** A `qwen3-serve serve` child process, listening on 127.0.0.1 and loaded. */
export interface ServerProcess {
  url: string;
  pid: number;
  /** The flags it was started with, as passed. */
  args: string[];
  /** SIGTERM, then waits for the exit (SIGKILL after 30 s). */
  stop(): Promise<void>;
}

/** Kept of the server's stdout and stderr for error messages: its last lines. */
const TAIL_CHARS = 4000;
const READY_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * Starts the server as its own process, as a user would run it: the benchmark client then never
 * shares an event loop (or a CPU-time account) with the server it measures. The compiled CLI is
 * used when this module is compiled; from TypeScript sources (tsx, vitest) the sources are run
 * through tsx, so a stale dist/ cannot be measured by mistake.
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const args = serveArgs(options);
  const fromSources = import.meta.url.endsWith('.ts');
  const cli = fileURLToPath(new URL(fromSources ? '../../src/cli.ts' : '../../src/cli.js', import.meta.url));
  const child = spawn(process.execPath, [...(fromSources ? ['--import', 'tsx'] : []), cli, 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-TAIL_CHARS);
  };
  // pino writes a line per request on stdout: it must be read (or the pipe fills and the server
  // blocks), and only the first "listening" line matters.
  let url: string | undefined;
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      keep(chunk);
      if (url === undefined) {
        const match = /"url":"(http:[^"]+)"/.exec(tail);
        if (match) resolve((url = match[1]));
      }
    });
    child.once('exit', (code, signal) => reject(new Error(`qwen3-serve exited (code ${code}, signal ${signal}) before listening:\n${tail}`)));
  });
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const bound = await listening;
    await waitReady(bound, child, () => tail);
    return { url: bound, pid: child.pid!, args, stop: () => stopChild(child, exited) };
  } catch (err) {
    await stopChild(child, exited);
    throw err;
  }
}

function serveArgs(options: ServerProcessOptions): string[] {
  const args = ['--model', options.modelDir, '--host', '127.0.0.1', '--port', '0', '--max-seqs', String(options.maxSeqs), '--max-waiting', String(options.maxWaiting)];
  if (options.threads !== undefined) args.push('--threads', String(options.threads));
  if (options.maxNumBatchedTokens !== undefined) args.push('--max-num-batched-tokens', String(options.maxNumBatchedTokens));
  if (options.maxPrefillChunk !== undefined) args.push('--max-prefill-chunk', String(options.maxPrefillChunk));
  if (options.maxModelLen !== undefined) args.push('--max-model-len', String(options.maxModelLen));
  return args;
}

/** Polls /ready until 200; fails at once if the process exits, and after READY_TIMEOUT_MS. */
async function waitReady(url: string, child: ChildProcess, tail: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`qwen3-serve exited while loading:\n${tail()}`);
    const status = await fetch(`${url}/ready`).then((r) => r.status, () => 0);
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`qwen3-serve at ${url} was not ready within ${READY_TIMEOUT_MS / 1000} s:\n${tail()}`);
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}
