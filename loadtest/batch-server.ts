import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A `qwen3-serve serve` child with its own data directory, for the batch benchmark. */
export interface BatchBenchServer {
  url: string;
  args: string[];
  /** SIGTERM (SIGKILL after 30 s), then removes the data directory. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10 * 60 * 1000;
const TAIL_CHARS = 4000;

/**
 * Starts the server as a user runs it, in its own process (the benchmark client must not share
 * its event loop), on 127.0.0.1, a free port and a fresh --data-dir, and waits until it is ready.
 * From TypeScript sources (tsx) the CLI runs through tsx, compiled it runs from dist.
 */
export async function startBatchBenchServer(serveArgs: string[]): Promise<BatchBenchServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'batch-bench-'));
  const args = ['--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, ...serveArgs];
  const fromSources = import.meta.url.endsWith('.ts');
  const cli = fileURLToPath(new URL(fromSources ? '../src/cli.ts' : '../src/cli.js', import.meta.url));
  const child = spawn(process.execPath, [...(fromSources ? ['--import', 'tsx'] : []), cli, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  // pino writes a line per request: the pipe must be drained or the server blocks.
  const keep = (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-TAIL_CHARS));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A benchmark stopped (Ctrl-C, SIGTERM) or crashing takes its server with it: the server has
  // no way to notice its client is gone and would go on with the batch.
  const killOnExit = () => child.kill('SIGKILL');
  const exitOnSignal = (signal: NodeJS.Signals) => {
    child.kill('SIGKILL');
    process.kill(process.pid, signal);
  };
  process.once('exit', killOnExit);
  process.once('SIGINT', exitOnSignal);
  process.once('SIGTERM', exitOnSignal);
  void exited.then(() => {
    process.off('exit', killOnExit);
    process.off('SIGINT', exitOnSignal);
    process.off('SIGTERM', exitOnSignal);
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        keep(chunk);
        const match = /"url":"(http:[^"]+)"/.exec(tail);
        if (match) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`qwen3-serve exited (${code}) before listening:\n${tail}`)));
    });
    child.stderr!.on('data', keep);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while ((await fetch(`${url}/ready`).then((r) => r.status, () => 0)) !== 200) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`qwen3-serve did not become ready:\n${tail}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    return { url, args, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
