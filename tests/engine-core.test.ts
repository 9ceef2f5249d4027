import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineCore } from '../src/engine/engine-core.js';
import { readModelManifest } from '../src/model/model-manifest.js';
import { OnnxRunner } from '../src/model/runner/onnx-runner.js';
import { loadTokenizer } from '../src/model/tokenizer/load-tokenizer.js';
import type { Tokenizer } from '../src/model/tokenizer/tokenizer.js';
import { EngineDriver, request, type Collected } from './helpers/engine-driver.js';
import { BUILDER_FIXTURE_DIR, BUILDER_FIXTURE_NOTE, HAS_BUILDER_FIXTURE } from './helpers/fixture.js';
import { tinyModelDir } from './helpers/models.js';
import { expectSlotsReturnToEmpty } from './helpers/slot-reuse-check.js';

const dir = tinyModelDir('int8');
const manifest = readModelManifest(dir);

describe('EngineCore on the tiny int8 model', () => {
  let runner: OnnxRunner;
  let tokenizer: Tokenizer;

  beforeAll(async () => {
    runner = await OnnxRunner.open({ onnxPath: manifest.onnxPath, device: 'cpu', maxSeqs: 8, maxLen: 256 });
    tokenizer = await loadTokenizer(dir);
  });
  afterAll(async () => {
    await runner?.close();
  });

  function newCore(options: { maxPrefillChunk?: number; kvTokenBudget?: number } = {}) {
    return new EngineCore({
      runner,
      decoder: tokenizer,
      eosTokenIds: manifest.eosTokenIds,
      scheduler: { maxPrefillChunk: options.maxPrefillChunk ?? 16, kvTokenBudget: options.kvTokenBudget },
    });
  }

  const prompts = Array.from({ length: 8 }, (_, i) => Array.from({ length: 3 + i * 7 }, (_, j) => 1000 + ((i * 131 + j * 17) % 5000)));

  async function alone(prompt: number[], maxTokens: number, sampling = {}) {
    const driver = new EngineDriver(newCore());
    driver.add(request('solo', prompt, { maxTokens }, sampling));
    await driver.runUntilIdle();
    return driver.results.get('solo')!;
  }

  it('batch invariance: 8 greedy requests of different lengths, joining and leaving at different steps, match their solo runs', async () => {
    const maxTokens = prompts.map((_, i) => 6 + ((i * 5) % 11));
    const solo: Collected[] = [];
    for (let i = 0; i < prompts.length; i++) solo.push(await alone(prompts[i], maxTokens[i]));

    const driver = new EngineDriver(newCore());
    // Two requests join every step, so later ones arrive while earlier ones decode.
    let next = 0;
    while (next < prompts.length || driver.core.hasWork()) {
      for (let k = 0; k < 2 && next < prompts.length; k++, next++) {
        driver.add(request(`r${next}`, prompts[next], { maxTokens: maxTokens[next] }));
      }
      await driver.step();
    }
    for (let i = 0; i < prompts.length; i++) {
      const batched = driver.results.get(`r${i}`)!;
      expect(batched.tokens[0]).toEqual(solo[i].tokens[0]);
      expect(batched.text[0]).toEqual(solo[i].text[0]);
      expect(batched.finishReasons[0]).toBe('length');
      expect(batched.tokens[0]).toHaveLength(maxTokens[i]);
    }
  });

  it('seeded sampling gives the same tokens alone and batched, and n choices differ', async () => {
    const sampling = { temperature: 1, topP: 0.9, seed: 1234 };
    const solo = await alone(prompts[3], 10, sampling);
    const driver = new EngineDriver(newCore());
    driver.add(request('other1', prompts[1], { maxTokens: 12 }, { temperature: 1, seed: 7 }));
    driver.add(request('seeded', prompts[3], { maxTokens: 10 }, sampling));
    driver.add(request('other2', prompts[5], { maxTokens: 4 }));
    await driver.runUntilIdle();
    expect(driver.results.get('seeded')!.tokens[0]).toEqual(solo.tokens[0]);

    const many = new EngineDriver(newCore());
    many.add(request('n3', prompts[2], { maxTokens: 10, n: 3 }, { temperature: 1.5, seed: 99 }));
    await many.runUntilIdle();
    const choices = many.results.get('n3')!;
    expect(choices.done).toBe(true);
    expect(choices.tokens.every((t) => t.length === 10)).toBe(true);
    expect(new Set(choices.tokens.map((t) => t.join(','))).size).toBeGreaterThan(1);
  });

  it('stop strings end a choice without being emitted; stop token ids end it too', async () => {
    const reference = await alone(prompts[4], 12);
    const text = reference.text[0];
    // Pick a stop string from the middle of the greedy output so it spans model tokens.
    const stop = text.slice(Math.floor(text.length / 2), Math.floor(text.length / 2) + 2);
    expect(stop.length).toBe(2);
    const stopped = await alone(prompts[4], 12, {});
    const driver = new EngineDriver(newCore());
    driver.add(request('s', prompts[4], { maxTokens: 12, stop: [stop] }));
    await driver.runUntilIdle();
    const result = driver.results.get('s')!;
    expect(result.finishReasons[0]).toBe('stop');
    expect(result.text[0]).toBe(text.slice(0, text.indexOf(stop)));
    expect(stopped.text[0]).toBe(text);

    const third = reference.tokens[0][2];
    const byToken = new EngineDriver(newCore());
    byToken.add(request('t', prompts[4], { maxTokens: 12 }, { stopTokenIds: [third] }));
    await byToken.runUntilIdle();
    expect(byToken.results.get('t')!.tokens[0]).toEqual(reference.tokens[0].slice(0, reference.tokens[0].indexOf(third) + 1));
    expect(byToken.results.get('t')!.finishReasons[0]).toBe('stop');
  });

  it('a long prompt is prefilled in chunks while other requests keep decoding', async () => {
    const core = newCore({ maxPrefillChunk: 8 });
    const driver = new EngineDriver(core);
    driver.add(request('short', prompts[0], { maxTokens: 30 }));
    await driver.step();
    driver.add(request('long', prompts[7], { maxTokens: 3 }));
    let shortTokensDuringLongPrefill = 0;
    while (driver.results.get('long')!.tokens[0].length === 0) {
      const before = driver.results.get('short')!.tokens[0].length;
      await driver.step();
      shortTokensDuringLongPrefill += driver.results.get('short')!.tokens[0].length - before;
    }
    // 52 prompt tokens in chunks of 8: the short request decodes on every one of those steps.
    expect(shortTokensDuringLongPrefill).toBeGreaterThanOrEqual(Math.floor(prompts[7].length / 8));
    await driver.runUntilIdle();
    const long = await alone(prompts[7], 3);
    expect(driver.results.get('long')!.tokens[0]).toEqual(long.tokens[0]);
  });

  it('preempts under KV pressure and recomputes, with the same greedy output as solo runs', async () => {
    const chosen = [prompts[2], prompts[3], prompts[4]]; // 17, 24 and 31 prompt tokens
    const solo: Collected[] = [];
    for (const prompt of chosen) solo.push(await alone(prompt, 20));
    // 80 KV tokens cannot hold all three sequences as they grow (they reach 37, 44 and 51).
    const core = newCore({ kvTokenBudget: 80 });
    const driver = new EngineDriver(core);
    chosen.forEach((prompt, i) => driver.add(request(`p${i}`, prompt, { maxTokens: 20 })));
    await driver.runUntilIdle();
    expect(core.scheduler.stats().preemptionsTotal).toBeGreaterThan(0);
    chosen.forEach((_, i) => expect(driver.results.get(`p${i}`)!.tokens[0]).toEqual(solo[i].tokens[0]));
  });

  it('rejects a prompt that cannot fit the context with context_length_exceeded', () => {
    const core = newCore();
    expect(() => core.add(request('big', Array.from({ length: 256 }, () => 5)))).toThrow(
      expect.objectContaining({ type: 'invalid_request_error', code: 'context_length_exceeded' }),
    );
  });
});

// The same check on this project's own fp16 export runs in tests/runner-fp16-export.test.ts.
describe.skipIf(!HAS_BUILDER_FIXTURE)(`EngineCore slot reuse on the builder fixture (vocab 1000, no tokenizer)${BUILDER_FIXTURE_NOTE}`, () => {
  it('rows and KV return to empty after hundreds of finished and aborted requests', () => expectSlotsReturnToEmpty(BUILDER_FIXTURE_DIR));
});
