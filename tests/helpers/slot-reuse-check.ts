import { expect } from 'vitest';
import { EngineCore } from '../../src/engine/engine-core.js';
import { readModelManifest } from '../../src/model/model-manifest.js';
import { OnnxRunner } from '../../src/model/runner/onnx-runner.js';
import { EngineDriver, request } from './engine-driver.js';

/**
 * Runs hundreds of short requests through an EngineCore on the model in `dir`, aborting some
 * mid-flight, and checks that every row and every KV token is free again afterwards (or held by
 * a cached prefix the scheduler accounts for). Token-only
 * (no tokenizer); prompts use ids 3..902, so the vocabulary must hold at least 903.
 */
export async function expectSlotsReturnToEmpty(dir: string): Promise<void> {
  const manifest = readModelManifest(dir);
  const runner = await OnnxRunner.open({ onnxPath: manifest.onnxPath, device: 'cpu', maxSeqs: 4, maxLen: 64 });
  try {
    const core = new EngineCore({ runner, decoder: null, eosTokenIds: manifest.eosTokenIds, scheduler: { maxPrefillChunk: 8 } });
    const driver = new EngineDriver(core);
    for (let i = 0; i < 300; i++) {
      const id = `c${i}`;
      const prompt = Array.from({ length: 2 + (i % 13) }, (_, j) => 3 + ((i * 7 + j) % 900));
      driver.add(request(id, prompt, { maxTokens: 1 + (i % 6), n: 1 + (i % 2) }, { ignoreEos: true }));
      if (i % 2 === 0) await driver.step();
      if (i % 5 === 0) core.abort(id);
      if (i % 7 === 0) await driver.step();
    }
    await driver.runUntilIdle();
    let aborted = 0;
    for (const [id, result] of driver.results) {
      expect(result.done, id).toBe(true);
      expect(result.error, id).toBeUndefined();
      if (result.finishReasons.includes('abort')) aborted++;
      else expect(result.finishReasons.every((r) => r === 'length'), id).toBe(true);
    }
    expect(aborted).toBeGreaterThan(30);
    // One more step lets the scheduler report the last finishes and release their rows.
    const stats = core.scheduler.stats();
    expect(stats).toMatchObject({ numRunning: 0, numWaiting: 0, kvTokensInUse: 0, kvTokensReserved: 0 });
    expect(core.hasWork()).toBe(false);
    expect(core.rowsInUse).toBe(0);
    // Finished requests' rows may stay as cached prefixes, exactly as many as the scheduler counts.
    expect(core.rowsCached).toBe(stats.numCachedPrefixes);
    expect(stats.kvTokensCached).toBeLessThanOrEqual(stats.kvTokenBudget);
  } finally {
    await runner.close();
  }
}
