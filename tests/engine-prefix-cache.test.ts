import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineCore } from '../src/engine/engine-core.js';
import { readModelManifest } from '../src/model/model-manifest.js';
import { OnnxRunner } from '../src/model/runner/onnx-runner.js';
import { EngineDriver, request, type Collected } from './helpers/engine-driver.js';
import { tinyModelDir, type TinyModelFormat } from './helpers/models.js';

/** `count` prompt tokens, distinct per seed. */
const tokens = (count: number, seed: number) => Array.from({ length: count }, (_, j) => 1000 + ((seed * 131 + j * 17) % 5000));

/**
 * Prefix caching on the tiny models: a request that continues a finished one (a chat's next
 * turn) starts from that request's KV row. A reused prefix is summed in another order than a
 * cold prefill (cached positions, then new ones), so logits agree to fp32 rounding on the fp32
 * model; on int8, MatMulNBits quantizes each activation row and such differences can grow to
 * ~1e-2 (see tests/model-kv-cache.test.ts), so there only the greedy tokens are compared.
 */
describe.each(['fp32', 'int8'] as const)('prefix caching in EngineCore on the tiny %s model', (format: TinyModelFormat) => {
  const manifest = readModelManifest(tinyModelDir(format));
  let runner: OnnxRunner;

  beforeAll(async () => {
    runner = await OnnxRunner.open({ onnxPath: manifest.onnxPath, device: 'cpu', maxSeqs: 4, maxLen: 256 });
  });
  afterAll(async () => {
    await runner?.close();
  });

  function newCore(prefixCaching: boolean, kvTokenBudget?: number): EngineCore {
    return new EngineCore({ runner, decoder: null, eosTokenIds: manifest.eosTokenIds, scheduler: { maxPrefillChunk: 16, prefixCaching, kvTokenBudget } });
  }

  /** Two turns of one chat on a fresh core: turn 2's prompt is turn 1's whole sequence plus 20 tokens. */
  async function twoTurns(prefixCaching: boolean): Promise<{ core: EngineCore; turn1: Collected; turn2: Collected }> {
    const core = newCore(prefixCaching);
    const driver = new EngineDriver(core);
    const prompt1 = tokens(40, 1);
    driver.add(request('turn-1', prompt1, { maxTokens: 8 }, { ignoreEos: true }));
    await driver.runUntilIdle();
    const turn1 = driver.results.get('turn-1')!;
    const prompt2 = [...prompt1, ...turn1.tokens[0], ...tokens(20, 2)];
    driver.add(request('turn-2', prompt2, { maxTokens: 12 }, { ignoreEos: true, logprobs: true }));
    await driver.runUntilIdle();
    return { core, turn1, turn2: driver.results.get('turn-2')! };
  }

  it("a request that extends a finished one reuses its KV and generates the cold prefill's greedy tokens", async () => {
    const cold = await twoTurns(false);
    const warm = await twoTurns(true);
    expect(cold.turn2.usage).toEqual({ promptTokens: 68, completionTokens: 12, cachedPromptTokens: 0 });
    // Turn 1's row holds its 40 prompt tokens and 7 of its 8 outputs (the last was never fed).
    expect(warm.turn2.usage).toEqual({ promptTokens: 68, completionTokens: 12, cachedPromptTokens: 47 });
    expect(warm.turn1.usage!.cachedPromptTokens).toBe(0);
    expect(warm.turn2.tokens[0]).toEqual(cold.turn2.tokens[0]);
    expect(warm.turn2.logprobs[0]).toHaveLength(12);
    if (format === 'fp32') {
      warm.turn2.logprobs[0].forEach((logprob, i) => expect(logprob, `token ${i}`).toBeCloseTo(cold.turn2.logprobs[0][i], 4));
    }
    // Turn 2's own row stays cached; nothing else is held.
    expect(warm.core.scheduler.stats()).toMatchObject({ numRunning: 0, numCachedPrefixes: 1, kvTokensCached: 79, prefixHitTokensTotal: 47, prefixQueryTokensTotal: 40 + 68 });
    expect(warm.core).toMatchObject({ rowsInUse: 0, rowsCached: 1 });
    expect(cold.core).toMatchObject({ rowsInUse: 0, rowsCached: 0 });
  });

  it.runIf(format === 'fp32')('chats under KV pressure (preemptions, evictions) give the same tokens with prefix caching on and off', async () => {
    // Each turn's prompts fit the 300-token budget together (the last turn's: 276 tokens), their
    // answers do not (351): the running chats preempt each other as they grow.
    async function chats(prefixCaching: boolean) {
      const core = newCore(prefixCaching, 300);
      const driver = new EngineDriver(core);
      const histories = [tokens(30, 3), tokens(36, 4), tokens(24, 5)];
      for (let turn = 0; turn < 3; turn++) {
        histories.forEach((history, c) => driver.add(request(`c${c}-t${turn}`, history, { maxTokens: 20 + 5 * c }, { ignoreEos: true })));
        await driver.runUntilIdle();
        histories.forEach((history, c) => history.push(...driver.results.get(`c${c}-t${turn}`)!.tokens[0], ...tokens(6, 10 + turn)));
      }
      return { core, results: driver.results };
    }
    const off = await chats(false);
    const on = await chats(true);
    for (const [id, result] of off.results) expect(on.results.get(id)!.tokens, id).toEqual(result.tokens);
    const stats = on.core.scheduler.stats();
    expect(stats.prefixHitTokensTotal).toBeGreaterThan(0);
    expect(stats.preemptionsTotal).toBeGreaterThan(0);
    expect(off.core.scheduler.stats().preemptionsTotal).toBeGreaterThan(0);
    expect(on.core.rowsCached).toBe(stats.numCachedPrefixes);
    expect(stats.kvTokensCached).toBeLessThanOrEqual(300);
  });
});
