import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { benchGgufName, benchModelName, ensureBenchGguf, ensureBenchModel, modelWeightBytes } from '../loadtest/bench/bench-models.js';
import { measureReadBandwidth } from '../loadtest/bench/memory-bandwidth.js';
import { runModelBench } from '../loadtest/bench/model-bench.js';
import { formatModelBench } from '../loadtest/bench/model-bench-report.js';
import type { DecodeResult, SequencesResult } from '../loadtest/bench/model-workloads.js';
import { TINY_MODEL_SEED, tinyModelDir } from './helpers/models.js';

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

  it("exports the llama.cpp peer GGUF once, next to the ONNX exports", () => {
    const spec = { preset: 'tiny', type: 'q4_0', seed: TINY_MODEL_SEED } as const;
    expect(benchGgufName(spec)).toBe(`tiny-q4_0-seed${TINY_MODEL_SEED}.gguf`);
    const path = ensureBenchGguf(spec, cache);
    expect(path).toBe(join(cache, benchGgufName(spec)));
    const written = statSync(path).mtimeMs;
    expect(ensureBenchGguf(spec, cache)).toBe(path);
    expect(statSync(path).mtimeMs).toBe(written);
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

  it('measures each model in a child process, then its llama.cpp peer on the same workloads, and prints them side by side', async () => {
    const probe = {
      decodePromptTokens: 4,
      longDecodePromptTokens: 12,
      warmupSteps: 1,
      decodeSteps: 3,
      prefillTokens: 20,
      chunkTokens: 8,
      prefillRuns: 2,
      sequences: { count: 3, promptTokens: 6, outputTokens: 3 },
    };
    // The GGUF of the tiny models' own weights (same preset and seed).
    const gguf = ensureBenchGguf({ preset: 'tiny', type: 'q4_0', seed: TINY_MODEL_SEED }, cache);
    const result = await runModelBench({
      models: [
        { label: 'tiny int4', dir: tinyModelDir('int4'), peer: { gguf, type: 'Q4_0' } },
        { label: 'tiny int8', dir: tinyModelDir('int8') },
      ],
      probe,
      bandwidth: { bufferBytes: 16 * 1024 ** 2, passes: 1 },
      llamaCppThreads: 2,
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
      expectDecode(m.decode, 4 + 1);
      expectDecode(m.longDecode, 12 + 1);
      expect(m.prefill).toMatchObject({ tokens: 20 });
      expect(m.prefill.runs).toHaveLength(2);
      expect(m.prefill.bestTokPerSec).toBe(Math.max(...m.prefill.runs.map((r) => r.tokPerSec)));
      expect(m.chunkedPrefill).toMatchObject({ tokens: 20, chunkTokens: 8 });
      expect(m.chunkedPrefill.runs).toHaveLength(2);
      expectSequences(m.sequences);
      // A share of the machine's CPU time: positive, and about every core at most. The tiny model's
      // spans last a few ms, so CPU time that threads spend just outside a span (onnxruntime's
      // workers winding down, the garbage collector) weighs in: shares up to 1.35 were seen here.
      for (const share of [m.decode.cpuShare, ...m.prefill.runs.map((r) => r.cpuShare), ...m.chunkedPrefill.runs.map((r) => r.cpuShare)]) {
        expect(share).toBeGreaterThan(0);
        expect(share).toBeLessThan(2);
      }
      expect(m.roofline.singleCoreTokPerSec).toBeCloseTo((result.bandwidth.memchrGBps * 1e9) / m.weightBytes, 6);
      expect(m.roofline.ratio).toBeCloseTo(m.decode.tokPerSec / m.roofline.singleCoreTokPerSec, 9);
      expect(m.loadAverage.start).toHaveLength(3);
    }

    const [int4, int8] = result.models;
    expect(int8.llamaCpp).toBeUndefined();
    const peer = int4.llamaCpp!;
    expect(peer).toMatchObject({ gguf, type: 'Q4_0', threads: 2, batchSize: 512 });
    expect(peer.ggufBytes).toBe(statSync(gguf).size);
    expect(peer.build.nodeLlamaCpp).toBe('3.21.1');
    expect(peer.build.buildType).toBe('prebuilt');
    // The CPU library ggml picked for this machine, e.g. libggml-cpu-haswell.so -> haswell.
    expect(peer.build.cpuLibrary).toMatch(/^libggml-cpu/);
    expect(peer.build.cpuVariant).toMatch(/^[a-z0-9_-]+$/);
    expect(peer.build.cpuVariant).not.toBe('unknown');
    expect(peer.build.systemInfo).toMatch(/CPU/);
    expect(typeof peer.flashAttention).toBe('boolean');
    expect(peer.loadSeconds).toBeGreaterThan(0);
    expect(peer.peakRssBytes).toBeGreaterThanOrEqual(peer.rssAfterLoadBytes);
    expectDecode(peer.decode, 4 + 1);
    expectDecode(peer.longDecode, 12 + 1);
    expect(peer.prefill.tokens).toBe(20);
    expect(peer.prefill.runs).toHaveLength(2);
    expectSequences(peer.sequences);

    const text = formatModelBench(result);
    expect(text).toMatch(/^Machine: /);
    expect(text).toContain('| model ');
    expect(text).toContain('| tiny int4 ');
    expect(text).toContain('| tiny int8 ');
    expect(text).toContain(`llama.cpp: node-llama-cpp 3.21.1 (prebuilt binaries, llama.cpp release ${peer.build.llamaCppRelease}), CPU variant ${peer.build.cpuVariant}`);
    // Only the model given a peer is compared with llama.cpp, workload by workload.
    expect(text).toContain('tiny int4 vs llama.cpp Q4_0 (2 threads');
    for (const row of ['prefill 20 tokens', 'decode after 5 tokens', 'decode after 13 tokens', '3 x (6 prompt + 3 output): generated tok/s', '3 x (6 prompt + 3 output): mean TTFT s']) {
      expect(text).toMatch(new RegExp(`\\| ${row.replace(/[()+]/g, '\\$&')}[^|]*\\| [\\d.]+ +\\| [\\d.]+ +\\| [\\d.]+x`));
    }
    expect(text).not.toContain('tiny int8 vs');
  });
});

function expectDecode(decode: DecodeResult, contextTokens: number): void {
  expect(decode.contextTokens).toBe(contextTokens);
  expect(decode.steps).toBe(3);
  expect(decode.tokPerSec).toBeGreaterThan(0);
  expect(decode.minStepMs).toBeLessThanOrEqual(decode.medianStepMs);
  expect(decode.medianStepMs).toBeLessThanOrEqual(decode.maxStepMs);
}

function expectSequences(sequences: SequencesResult): void {
  expect(sequences).toMatchObject({ count: 3, promptTokens: 6, outputTokens: 3 });
  expect(sequences.tokPerSec).toBeCloseTo((3 * 3) / sequences.wallSeconds, 6);
  expect(sequences.meanTtftSeconds).toBeGreaterThan(0);
  expect(sequences.meanTtftSeconds).toBeLessThanOrEqual(sequences.wallSeconds);
}
