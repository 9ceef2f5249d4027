import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { benchModelName, ensureBenchModel, modelWeightBytes } from '../loadtest/bench/bench-models.js';
import { measureReadBandwidth } from '../loadtest/bench/memory-bandwidth.js';
import { runModelBench } from '../loadtest/bench/model-bench.js';
import { formatModelBench } from '../loadtest/bench/model-bench-report.js';
import { tinyModelDir } from './helpers/models.js';

/**
 * The model benchmark's code path on the tiny models with tiny counts: the structure of what it
 * measures and prints, never its speed (timings belong in BENCHMARKS.md, not in tests).
 */
describe('model benchmark', () => {
  const cache = mkdtempSync(join(tmpdir(), 'bench-model-cache-'));
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  it('exports a benchmark model once and reuses the cached folder', () => {
    const spec = { preset: 'tiny', format: { bits: 4, blockSize: 32 }, seed: 3 } as const;
    expect(benchModelName(spec)).toBe('tiny-int4-b32-seed3');
    // A folder left by an interrupted export (no completion marker) is redone, not trusted.
    mkdirSync(join(cache, 'tiny-int4-b32-seed3'), { recursive: true });
    const dir = ensureBenchModel(spec, cache);
    expect(dir).toBe(join(cache, 'tiny-int4-b32-seed3'));
    for (const file of ['model.onnx', 'genai_config.json', 'tokenizer.json', 'bench-export.json']) expect(existsSync(join(dir, file))).toBe(true);
    const written = statSync(join(dir, 'model.onnx')).mtimeMs;
    expect(ensureBenchModel(spec, cache)).toBe(dir);
    expect(statSync(join(dir, 'model.onnx')).mtimeMs).toBe(written);
    expect(modelWeightBytes(dir)).toBe(statSync(join(dir, 'model.onnx')).size);
  });

  it('measures read bandwidth out of cache, in cache and on several threads', async () => {
    const result = await measureReadBandwidth({ bufferBytes: 16 * 1024 ** 2, passes: 1, threads: 2 });
    expect(result.bufferBytes).toBe(16 * 1024 ** 2);
    for (const rate of [result.memchrGBps, result.jsSumGBps, result.inCacheMemchrGBps, result.inCacheJsSumGBps, result.allCores?.GBps]) {
      expect(rate).toBeGreaterThan(0);
      expect(Number.isFinite(rate)).toBe(true);
    }
    expect(result.allCores?.threads).toBe(2);
  });

  it('measures each model in a child process and prints the table with roofline and llama.cpp ratios', async () => {
    const probe = { decodePromptTokens: 4, warmupSteps: 1, decodeSteps: 3, prefillTokens: 20, chunkTokens: 8, prefillRuns: 2 };
    const result = await runModelBench({
      models: [
        { label: 'tiny int4', dir: tinyModelDir('int4'), peer: 'Q4_0' },
        { label: 'tiny int8', dir: tinyModelDir('int8') },
      ],
      probe,
      bandwidth: { bufferBytes: 16 * 1024 ** 2, passes: 1 },
    });
    expect(result.kind).toBe('model');
    expect(result.machine.cores).toBeGreaterThan(0);
    expect(result.bandwidth.allCores).toBeNull();
    expect(result.models.map((m) => m.label)).toEqual(['tiny int4', 'tiny int8']);
    for (const m of result.models) {
      expect(m.weightBytes).toBe(modelWeightBytes(m.dir));
      expect(m.loadSeconds).toBeGreaterThan(0);
      // The child's own peak: at least what it held after loading.
      expect(m.peakRssBytes).toBeGreaterThanOrEqual(m.rssAfterLoadBytes);
      expect(m.decode.steps).toBe(3);
      expect(m.decode.minStepMs).toBeLessThanOrEqual(m.decode.medianStepMs);
      expect(m.decode.medianStepMs).toBeLessThanOrEqual(m.decode.maxStepMs);
      expect(m.prefill).toMatchObject({ tokens: 20 });
      expect(m.prefill.runs).toHaveLength(2);
      expect(m.prefill.bestTokPerSec).toBe(Math.max(...m.prefill.runs.map((r) => r.tokPerSec)));
      expect(m.chunkedPrefill).toMatchObject({ tokens: 20, chunkTokens: 8 });
      expect(m.chunkedPrefill.runs).toHaveLength(2);
      // A share of the machine's CPU time: positive, and at most every core (plus timer slack).
      for (const share of [m.decode.cpuShare, ...m.prefill.runs.map((r) => r.cpuShare), ...m.chunkedPrefill.runs.map((r) => r.cpuShare)]) {
        expect(share).toBeGreaterThan(0);
        expect(share).toBeLessThan(1.1);
      }
      expect(m.roofline.singleCoreTokPerSec).toBeCloseTo((result.bandwidth.memchrGBps * 1e9) / m.weightBytes, 6);
      expect(m.roofline.ratio).toBeCloseTo(m.decode.tokPerSec / m.roofline.singleCoreTokPerSec, 9);
      expect(m.loadAverage.start).toHaveLength(3);
    }

    const text = formatModelBench(result);
    expect(text).toMatch(/^Machine: /);
    expect(text).toContain('| model ');
    expect(text).toContain('| tiny int4 ');
    expect(text).toContain('| tiny int8 ');
    // Only the model given a peer is compared with llama.cpp.
    expect(text).toMatch(/tiny int4 vs Q4_0: decode \d+\.\d\dx, prefill \d+\.\d\dx/);
    expect(text).not.toContain('tiny int8 vs');
  });
});
