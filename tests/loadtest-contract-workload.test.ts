import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBenchGguf } from '../loadtest/bench/bench-models.js';
import type { ContractBenchResult } from '../loadtest/contracts/contract-bench.js';
import { contractCompletionPoints } from '../loadtest/contracts/contract-plot.js';
import { TINY_MODEL_SEED, tinyModelDir } from './helpers/models.js';

const run = promisify(execFile);

/**
 * The contract workload's CLI on the tiny int4 model and the Q4_0 GGUF of the same weights, with
 * a few short contracts: what it sends and reports, never its speed. One side per run, the second
 * resumed from the first's saved results, as a long run is split.
 */
describe('contract workload benchmark', () => {
  const work = mkdtempSync(join(tmpdir(), 'contract-workload-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('summarises the same contract token ids through the Batch API and through llama.cpp, and joins the two sides', async () => {
    const gguf = ensureBenchGguf({ preset: 'tiny', type: 'q4_0', seed: TINY_MODEL_SEED }, work);
    const out = join(work, 'results');
    const cli = ['--import', 'tsx', 'loadtest/contract-workload.ts', '--model', tinyModelDir('int4'), '--gguf', gguf, '--out', out];
    const workload = ['--requests', '3', '--min-tokens', '80', '--max-tokens', '120', '--output-tokens', '4', '--max-seqs', '2', '--batch-prefill-tokens', '32'];
    await run(process.execPath, [...cli, ...workload, '--only', 'ours'], { timeout: 120_000 });
    const oursOnly = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ContractBenchResult;
    expect(oursOnly.llamaCpp).toBeNull();
    expect(oursOnly.throughputRatio).toBeNull();

    const { stdout } = await run(process.execPath, [...cli, ...workload, '--resume'], { timeout: 120_000 });
    const result = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ContractBenchResult;
    expect(result).toMatchObject({ kind: 'contracts', slots: 2, threads: 2, requests: 3, outputTokens: 4, gguf });
    expect(result.promptTokens.min).toBeGreaterThanOrEqual(80);
    expect(result.promptTokens.max).toBeLessThanOrEqual(120);
    // The resumed run kept the saved side and ran only the missing one.
    expect(result.ours).toEqual(oursOnly.ours);
    const ours = result.ours!;
    const llama = result.llamaCpp!;
    expect(ours.serveArgs).toEqual(expect.arrayContaining(['--max-seqs', '2', '--threads', '2', '--batch-prefill-tokens', '32']));
    for (const side of [ours, llama]) {
      expect(side).toMatchObject({ requests: 3, promptTokens: result.promptTokens.total, outputTokens: 12 });
      expect(side.tokensPerSecond).toBeCloseTo((side.promptTokens + side.outputTokens) / side.wallSeconds, 6);
      expect(side.cpuShare).toBeGreaterThan(0);
      expect(side.cpuShare).toBeLessThan(1.1);
    }
    // Every contract starts with the same chat template and instruction: the prefix cache serves it.
    expect(ours.cachedPromptTokens).toBeGreaterThan(0);
    expect(ours.completedAt).toHaveLength(3);
    expect(Math.max(...ours.completedAt)).toBeLessThanOrEqual(ours.wallSeconds);
    expect(llama.run.build.nodeLlamaCpp).toBe('3.21.1');
    expect(llama.run.requests.map((r) => r.promptTokens).reduce((a, b) => a + b, 0)).toBe(result.promptTokens.total);
    for (const request of llama.run.requests) {
      expect(request.outputTokens).toBe(4);
      expect(request.firstTokenAt).toBeGreaterThanOrEqual(request.startedAt);
      expect(request.finishedAt).toBeGreaterThanOrEqual(request.firstTokenAt);
    }
    expect(result.throughputRatio).toBeCloseTo(ours.tokensPerSecond / llama.tokensPerSecond, 9);

    expect(stdout).toContain('# Contract workload');
    expect(stdout).toContain('3 contract prompts');
    expect(stdout).toMatch(/\| qwen3-serve +\| [\d.]+ +\|/);
    expect(stdout).toMatch(/\| llama\.cpp +\| [\d.]+ +\|/);
    expect(stdout).toMatch(/Throughput ratio .*: \*\*[\d.]+x\*\* \(goal >= 1\.5x: (MET|NOT MET)\)/);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toBe(stdout);
    // The completion chart: each engine's curve climbs from none to every summary.
    expect(readFileSync(join(out, 'completions.png')).subarray(1, 4).toString('latin1')).toBe('PNG');
    const points = contractCompletionPoints(result);
    for (const engine of ['qwen3-serve', 'llama.cpp']) {
      expect(points.filter((p) => p.engine === engine).map((p) => p.summaries)).toEqual([0, 1, 2, 3]);
    }
  }, 300_000);
});
