import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from '../src/model/tokenizer/load-tokenizer.js';
import type { BaselineResult } from '../loadtest/bench/transformers-baseline.js';
import { contractDataset, randomDataset } from '../loadtest/serve/datasets.js';
import { poissonGapsMs } from '../loadtest/serve/load-shapes.js';
import { estimateSequentialServing } from '../loadtest/serve/sequential-baseline.js';
import { runServeBench } from '../loadtest/serve/serve-bench.js';
import { writeServeBenchOutputs } from '../loadtest/serve/serve-bench-output.js';
import { percentile, summarizeRequests, type RequestResult } from '../loadtest/serve/serving-metrics.js';
import { tinyModelDir } from './helpers/models.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('serving metrics (vLLM bench serve definitions)', () => {
  const request = (over: Partial<RequestResult>): RequestResult => ({ ok: true, promptTokens: 10, outputTokens: 5, startMs: 0, ttftMs: 100, itlMs: [10, 20, 30, 40], e2eMs: 200, ...over });

  it('throughputs over the duration, TPOT per request, ITL pooled, goodput against every SLO', () => {
    const results = [request({}), request({ ttftMs: 300, e2eMs: 700, itlMs: [100, 100, 100, 100] }), request({ ok: false, status: 429, outputTokens: 0 }), request({ ok: false })];
    const m = summarizeRequests(results, 2000, { ttftMs: 200, tpotMs: 50 });
    expect(m.completed).toBe(2);
    expect(m.failed).toBe(2);
    expect(m.failures).toEqual({ 429: 1, network: 1 });
    expect(m.requestThroughput).toBe(1);
    expect(m.outputThroughput).toBe(5);
    expect(m.totalTokenThroughput).toBe(15);
    // TPOT = (e2e - ttft) / (tokens - 1): 25 ms and 100 ms.
    expect(m.tpotMs.mean).toBe(62.5);
    expect(m.tpotMs.max).toBe(100);
    // ITL pools the 8 gaps of both requests.
    expect(m.itlMs.mean).toBe((100 + 400) / 8);
    expect(m.ttftMs.median).toBe(200);
    // Only the first meets TTFT <= 200 and TPOT <= 50.
    expect(m.requestGoodput).toBe(0.5);
    expect(summarizeRequests(results, 2000).requestGoodput).toBeNull();
  });

  it('percentiles interpolate linearly between ranks, as numpy does', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([0, 10], 99)).toBeCloseTo(9.9);
    expect(percentile([7], 99)).toBe(7);
  });
});

describe('load shapes and baselines', () => {
  it('Poisson gaps are seeded, start at once, and average 1/rate', () => {
    const gaps = poissonGapsMs(4001, 2, 5);
    expect(gaps[0]).toBe(0);
    expect(poissonGapsMs(4001, 2, 5)).toEqual(gaps);
    const mean = gaps.slice(1).reduce((a, b) => a + b, 0) / 4000;
    expect(mean).toBeGreaterThan(450);
    expect(mean).toBeLessThan(550);
  });

  it('a one-at-a-time server queues requests: TTFT k*W + F', () => {
    const baseline = { runs: [{ newTokens: 10, wallMs: 1000, decodeMs: 800 }] } as BaselineResult;
    const all = estimateSequentialServing(baseline, 4, 4);
    expect(all.outputThroughput).toBe(10);
    // Waits 0, 1, 2, 3 walls, then 200 ms of prefill.
    expect(all.meanTtftMs).toBe(1700);
    expect(all.maxTtftMs).toBe(3200);
    // Two clients, four requests: the later two wait for one request each.
    expect(estimateSequentialServing(baseline, 2, 4).meanTtftMs).toBe((200 + 1200 + 1200 + 1200) / 4);
  });
});

describe('datasets', () => {
  it('random prompts have exact lengths and differ', () => {
    const prompts = randomDataset({ count: 3, inputTokens: 113, outputTokens: 64, seed: 1 });
    expect(prompts.map((p) => p.promptTokenIds.length)).toEqual([113, 113, 113]);
    expect(prompts[0].promptTokenIds).not.toEqual(prompts[1].promptTokenIds);
    expect(prompts.every((p) => p.outputTokens === 64)).toBe(true);
  });

  it('contract prompts are chat-templated summarisation requests of exact lengths in range', async () => {
    const tokenizer = await loadTokenizer(tinyModelDir('int4'));
    const prompts = contractDataset(tokenizer, { count: 3, minTokens: 1000, maxTokens: 4000, outputTokens: 32, seed: 3 });
    for (const prompt of prompts) {
      expect(prompt.promptTokenIds.length).toBeGreaterThanOrEqual(1000);
      expect(prompt.promptTokenIds.length).toBeLessThanOrEqual(4000);
      const text = tokenizer.decode(prompt.promptTokenIds);
      expect(text).toMatch(/^<\|im_start\|>user\nSummarise the following contract/);
      expect(text).toContain('MASTER SERVICES AGREEMENT');
      expect(text).toMatch(/<\|im_start\|>assistant\n<think>\n\n<\/think>\n\n$/);
    }
    expect(new Set(prompts.map((p) => p.promptTokenIds.length)).size).toBe(3);
  });
});

describe('serving benchmark run', () => {
  const out = mkdtempSync(join(tmpdir(), 'qwen3-serve-bench-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs every scenario against real server processes and writes JSON, Markdown and PNG plots', async () => {
    const result = await runServeBench({
      models: [{ label: 'tiny int4', dir: tinyModelDir('int4'), extended: true }],
      maxSeqs: 2,
      maxWaiting: 8,
      sweep: { concurrency: [1, 2], inputTokens: 16, outputTokens: 4, minRequests: 2 },
      noBatchingConcurrency: [2],
      poisson: { rates: [20], requests: 2 },
      contract: { requests: 1, minTokens: 200, maxTokens: 240, outputTokens: 3, concurrency: 1 },
      prefillSettings: [{ chunk: 32 }],
      transformersRequests: 1,
      slo: { ttftMs: 60_000 },
    });
    const [model] = result.models;
    expect(model.batching.scenarios.map((s) => s.name)).toEqual(['random c=1', 'random c=2', 'poisson 20/s', 'contract c=1']);
    expect(model.batching.args).toEqual(expect.arrayContaining(['--max-seqs', '2', '--max-waiting', '8']));
    expect(model.noBatching?.args).toEqual(expect.arrayContaining(['--max-seqs', '1']));
    expect(model.noBatching?.scenarios.map((s) => s.name)).toEqual(['random c=2']);
    expect(model.prefillSettings.map((p) => p.setting)).toEqual([{ chunk: 32, budget: 34 }]);
    expect(model.prefillSettings[0].run.args).toEqual(expect.arrayContaining(['--max-prefill-chunk', '32', '--max-num-batched-tokens', '34']));
    for (const run of [model.batching, model.noBatching!, model.prefillSettings[0].run]) {
      for (const scenario of run.scenarios) {
        const m = scenario.metrics;
        expect(m.failed).toBe(0);
        // ignore_eos and token-id prompts: the server counted exactly what was asked.
        expect(m.totalOutputTokens).toBe(m.completed * scenario.outputTokens);
        expect(scenario.requests.every((r) => r.promptTokens >= scenario.inputTokens.min && r.promptTokens <= scenario.inputTokens.max)).toBe(true);
        expect(m.ttftMs.mean).toBeGreaterThan(0);
        expect(m.e2eMs.mean).toBeGreaterThanOrEqual(m.ttftMs.mean);
        expect(m.requestGoodput).toBe(m.requestThroughput);
        expect(scenario.serverRssBytes).toBeGreaterThan(0);
      }
    }
    const contract = model.batching.scenarios[3];
    expect(contract.inputTokens.min).toBeGreaterThanOrEqual(200);
    expect(contract.inputTokens.max).toBeLessThanOrEqual(240);
    expect(model.transformers?.result.runs).toHaveLength(1);
    expect(model.transformers?.estimates.map((e) => e.concurrency)).toEqual([1, 2]);
    expect(result.load.length).toBeGreaterThanOrEqual(2);
    // The measured code is named (tests run in a git checkout).
    expect(result.codeRevision).toMatch(/[0-9a-f]{7,}(-dirty)?$/);

    const files = await writeServeBenchOutputs(result, out, 'qwen3-serve bench serve --test');
    const json = JSON.parse(readFileSync(files.json, 'utf8')) as { command: string; kind: string };
    expect(json).toMatchObject({ command: 'qwen3-serve bench serve --test', kind: 'serve' });
    expect(files.charts.map((path) => path.slice(out.length + 1))).toEqual(['throughput.png', 'ttft.png', 'itl.png']);
    for (const path of files.charts) {
      const png = readFileSync(path);
      expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
      // IHDR width and height: a real figure, not an empty canvas.
      expect(png.readUInt32BE(16)).toBeGreaterThan(600);
      expect(png.readUInt32BE(20)).toBeGreaterThan(400);
    }
    const report = readFileSync(files.markdown, 'utf8');
    expect(report).toMatch(/^Command: `qwen3-serve bench serve --test`/);
    expect(report).toMatch(/\n\| 1 +\| 2 \/ 0 /);
    expect(report).toMatch(/\n\| 2 +\| 2 \/ 0 .*x +\| .*x +\|\n/);
    expect(report).toContain('| poisson 20/s ');
    expect(report).toContain('| contract c=1 ');
    expect(report).toContain('![Output throughput vs concurrency');
    expect(report).toMatch(/Errors below the queue limit: 0 failed requests over all scenarios \(MET\)/);
  });
});
