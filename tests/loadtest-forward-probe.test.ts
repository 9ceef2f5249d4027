import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tinyModelDir } from './helpers/models.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The forward-pass probe BENCHMARKS.md quotes, run on the tiny model so the script cannot rot. */
describe('loadtest/forward-probe.ts', () => {
  it('times decode steps of the asked shape and prints one JSON line', async () => {
    const args = ['--import', 'tsx', join(root, 'loadtest/forward-probe.ts'), '--model', tinyModelDir('int4'), '--rows', '3', '--past', '20', '--steps', '4'];
    const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: root });
    const result = JSON.parse(stdout.trim()) as Record<string, unknown>;
    expect(result).toMatchObject({ rows: 3, past: 20, steps: 4 });
    for (const key of ['medianMs', 'minMs', 'maxMs']) expect(result[key]).toBeGreaterThan(0);
    expect(result.minMs as number).toBeLessThanOrEqual(result.medianMs as number);
    expect(result.medianMs as number).toBeLessThanOrEqual(result.maxMs as number);
  });

  it('refuses a missing model folder flag', async () => {
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', join(root, 'loadtest/forward-probe.ts')], { cwd: root });
    await expect(run).rejects.toThrow(/--model <dir> is required/);
  });
});
