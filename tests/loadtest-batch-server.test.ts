import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { tinyModelDir } from './helpers/models.js';

const isUp = (url: string) => fetch(`${url}/health`).then((r) => r.ok, () => false);

/**
 * A benchmark stopped with a signal must not leave its qwen3-serve child serving. Ctrl-C (SIGINT)
 * here; SIGTERM takes the same handler.
 */
describe('the benchmarks\' server process', () => {
  it('is killed when the benchmark gets SIGINT', async () => {
    const signal = 'SIGINT';
    const bench = spawn(process.execPath, ['--import', 'tsx', 'tests/helpers/bench-server-child.ts', tinyModelDir('int4')], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        bench.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) resolve(out.trim());
        });
        bench.once('exit', (code) => reject(new Error(`the benchmark exited (${code}) before its server was ready`)));
      });
      expect(await isUp(url)).toBe(true);
      const exited = new Promise((resolve) => bench.once('exit', (_code, sig) => resolve(sig)));
      bench.kill(signal);
      expect(await exited).toBe(signal);
      const deadline = Date.now() + 10_000;
      while ((await isUp(url)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await isUp(url)).toBe(false);
    } finally {
      if (bench.exitCode === null && bench.signalCode === null) bench.kill('SIGKILL');
    }
  }, 60_000);
});
