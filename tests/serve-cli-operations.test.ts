import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyModelDir } from './helpers/models.js';
import { freePort } from './helpers/prometheus.js';
import { spawnServe, waitReady } from './helpers/serve-process.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
// Strips terminal colour codes from pino-pretty's output.
const ANSI = /\u001b\[[0-9;]*m/g;

/** `qwen3-serve serve` as an operator meets it: a taken port, log levels, logs on a terminal. */
describe('serve: operator-facing behaviour', () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'qwen3-serve-ops-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('a port already in use ends serve with one clear line and exit 1, not a stack trace', async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const server = spawnServe(['--model', tinyModelDir('int4'), '--port', String(port), '--data-dir', dataDir]);
      expect(await server.exited).toBe(1);
      const stderr = server.stderr();
      expect(stderr).toContain(
        `qwen3-serve: cannot listen on 127.0.0.1:${port}: the port is already in use (another qwen3-serve or another program listens there). Stop it, or choose another port with --port or QWEN3_SERVE_PORT.\n`,
      );
      // No stack trace anywhere: no "    at frame" lines, no uncaught error's dump.
      expect(stderr + server.stdout()).not.toMatch(/^\s+at /m);
      expect(stderr).not.toContain('EADDRINUSE');
    } finally {
      holder.close();
    }
  });

  it('--log-level warn keeps info lines (start, answered requests) off stdout and warnings on; a wrong level is refused with the choices', async () => {
    const port = await freePort();
    const server = spawnServe(['--model', tinyModelDir('int4'), '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn']);
    try {
      const url = `http://127.0.0.1:${port}`;
      // No "listening" line to read the URL from: poll the port the test chose.
      await waitReady({ ...server, url: Promise.resolve(url) });
      expect((await fetch(`${url}/v1/models`)).status).toBe(200);
      expect((await fetch(`${url}/v1/nowhere`)).status).toBe(404);
      // Answers with 5xx (here /ready's 503s while the model loaded) are warnings and stay;
      // nothing below warn is written: not the start lines, not the 200 or the 404 (info).
      const lines = server.stdout().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: number; status?: number; route?: string });
      for (const line of lines) expect(line).toMatchObject({ level: 40, status: 503, route: '/ready' });
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
    }

    const wrong = spawnServe(['--model', tinyModelDir('int4'), '--port', '0', '--log-level', 'loud']);
    expect(await wrong.exited).not.toBe(0);
    expect(wrong.stderr()).toMatch(/argument 'loud' is invalid\. Allowed choices are trace, debug, info, warn, error, fatal, silent/);
  });

  it('logs readable lines when stdout is a terminal (run under script(1), which gives it a pseudo-terminal)', async () => {
    const command = [process.execPath, '--import', 'tsx', 'src/cli.ts', 'serve', '--model', tinyModelDir('int4'), '--port', '0', '--data-dir', dataDir]
      .map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`)
      .join(' ');
    // Its own process group, so that the server under script is stopped with it.
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const deadline = Date.now() + 60_000;
      while (!/model loaded; ready/.test(output) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const text = output.replace(ANSI, '');
      // pino-pretty's layout: local time, level, name, message; the fields indented below.
      expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(qwen3-serve\): listening; loading the model\r?$/m);
      expect(text).toMatch(/^\s+url: "http:\/\/127\.0\.0\.1:\d+"\r?$/m);
      expect(text).toMatch(/INFO \(qwen3-serve\): model loaded; ready/);
      expect(text).not.toContain('{"level":');
      // Colour codes are there: a person reads this.
      expect(output).toMatch(ANSI);
    } finally {
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
    }
  });
});
