import { describe, expect, it } from 'vitest';
import { runEngineBench } from '../loadtest/bench/engine-bench.js';
import { formatEngineBench } from '../loadtest/bench/engine-bench-report.js';
import { tinyModelDir } from './helpers/models.js';

/**
 * The engine benchmark's code path on the tiny model with tiny counts: the engine worker at two
 * concurrencies, the step summaries and lag figures, the transformers.js baseline on the same
 * files, and the printed report. Structure only; speed is for BENCHMARKS.md.
 */
describe('engine benchmark', () => {
  it('runs every concurrency through the engine worker and the baseline, and prints the goals', async () => {
    const result = await runEngineBench({
      modelDir: tinyModelDir('int4'),
      concurrency: [1, 3],
      rounds: 2,
      promptTokens: 5,
      maxTokens: 6,
      warmupTokens: 2,
      baselineRequests: 2,
    });
    expect(result.kind).toBe('engine');
    expect(result.engine.maxSeqs).toBe(3);
    expect(result.phases.map((p) => [p.round, p.concurrency])).toEqual([[1, 1], [1, 3], [2, 1], [2, 3]]);
    // The best round of each concurrency, by full-batch decode rate.
    expect(result.best.map((p) => p.concurrency)).toEqual([1, 3]);
    for (const best of result.best) {
      const rounds = result.phases.filter((p) => p.concurrency === best.concurrency);
      expect(best.fullBatch.decodeTokPerSec).toBe(Math.max(...rounds.map((p) => p.fullBatch.decodeTokPerSec)));
    }
    for (const phase of result.phases) {
      // ignore_eos: every request generates exactly maxTokens.
      expect(phase.completionTokens).toBe(phase.concurrency * 6);
      // Each stream's first token comes from its prefill; the rest from full-batch decode steps.
      expect(phase.fullBatch.steps).toBeGreaterThanOrEqual(1);
      expect(phase.fullBatch.generatedTokens).toBe(phase.fullBatch.steps * phase.concurrency);
      expect(phase.allSteps.generatedTokens).toBe(phase.completionTokens);
      expect(phase.fullBatch.overheadShare).toBeGreaterThanOrEqual(0);
      expect(phase.fullBatch.overheadShare).toBeLessThan(1);
      expect(phase.fullBatch.gapShare).toBeLessThan(1);
      expect(phase.fullBatch.medianForwardMs).toBeLessThanOrEqual(phase.fullBatch.medianStepMs);
      expect(phase.eventLoopLag.p50Ms).toBeLessThanOrEqual(phase.eventLoopLag.p99Ms);
      expect(phase.eventLoopLag.p99Ms).toBeLessThanOrEqual(phase.eventLoopLag.maxMs);
      expect(phase.cpuShare).toBeGreaterThan(0);
    }
    expect(result.scaling).toEqual([
      { concurrency: 1, speedup: 1 },
      { concurrency: 3, speedup: result.best[1].fullBatch.decodeTokPerSec / result.best[0].fullBatch.decodeTokPerSec },
    ]);
    expect(result.baseline?.requests).toBe(2);
    expect(result.baseline?.library).toMatch(/^@huggingface\/transformers \d+\.\d+/);
    expect(result.baseline?.runs.map((r) => r.newTokens)).toEqual([6, 6]);
    expect(result.baseline?.decodeTokPerSec).toBeGreaterThan(0);
    expect(result.baseline?.bestRunDecodeTokPerSec).toBeGreaterThanOrEqual(result.baseline?.decodeTokPerSec ?? Infinity);

    const text = formatEngineBench(result);
    expect(text).toContain('| streams ');
    expect(text).toMatch(/\n\| 1 +\| /);
    expect(text).toMatch(/\n\| 3 +\| /);
    expect(text).toContain('Baseline: @huggingface/transformers');
    expect(text).toMatch(/Goals: overhead < 2\.00% of step: worst \d+\.\d\d% (MET|NOT MET); lag p99 < 20 ms/);
  });
});
