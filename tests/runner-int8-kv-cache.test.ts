import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportQwen3Model } from '../src/convert/export/export-model.js';
import { readModelManifest } from '../src/model/model-manifest.js';
import { OnnxRunner } from '../src/model/runner/onnx-runner.js';
import { maxAbsDiff, TINY_MODEL_FORMATS, tinyModelWeights } from './helpers/models.js';
import { randomTokens } from './helpers/random-tokens.js';
import { startTestServer } from './helpers/server.js';
import { blockRoundedSource } from './reference/block-rounded-source.js';
import { compareLogits } from './reference/logit-comparison.js';
import { ReferenceModel } from './reference/reference-model.js';

const VOCAB = 151936;
const PROMPT_LENGTH = 96;
const DECODE_STEPS = 32;

/**
 * The int8 KV cache (export --kv-cache int8) on the tiny model, int8 weights (block 32, seed 1),
 * against the reference on the same block-rounded weights and against the float-cache graph of
 * the same export.
 *
 * Limits, from measurements on the tiny model with the tokens below: a 96-token prefill then 32
 * decode steps, the logits of the prompt's last position and of every step (33 rows) against the
 * reference: mean KL 0.0024 (max 0.0047), top-1 1.0; the float cache measures mean KL 0.0018,
 * top-1 0.97 on the same check. Int8 against float cache: mean KL 0.0032, top-1 0.97 (random
 * weights give near ties, so top-1 moves more than KL). Limits: mean KL < 0.008 against either,
 * top-1 >= 0.85.
 */
const INT8_VS_REFERENCE = { meanKl: 0.008, top1: 0.85 };
const INT8_VS_FLOAT = { meanKl: 0.008, top1: 0.85 };

describe('int8 KV cache (tiny int8)', () => {
  let dir: string;
  let floatDir: string;
  let fp32WeightsDir: string;
  let int8: OnnxRunner;
  let float: OnnxRunner;
  let int8Fp32Weights: OnnxRunner;
  const tokens = randomTokens(PROMPT_LENGTH + DECODE_STEPS, 31, VOCAB);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qwen3-int8-kv-'));
    floatDir = mkdtempSync(join(tmpdir(), 'qwen3-float-kv-'));
    fp32WeightsDir = mkdtempSync(join(tmpdir(), 'qwen3-int8-kv-fp32-'));
    for (const [target, kvCache, format] of [[dir, 'int8', 'int8'], [floatDir, 'float', 'int8'], [fp32WeightsDir, 'int8', 'fp32']] as const) {
      const weights = tinyModelWeights();
      exportQwen3Model(weights, target, { format: TINY_MODEL_FORMATS[format], kvCache, quiet: true });
      weights.close();
    }
    const open = (folder: string) => OnnxRunner.open({ onnxPath: readModelManifest(folder).onnxPath, device: 'cpu', threads: 1, maxSeqs: 3, maxLen: 256 });
    int8 = await open(dir);
    float = await open(floatDir);
    int8Fp32Weights = await open(fp32WeightsDir);
  });
  afterAll(async () => {
    await int8?.close();
    await float?.close();
    await int8Fp32Weights?.close();
    for (const folder of [dir, floatDir, fp32WeightsDir]) rmSync(folder, { recursive: true, force: true });
  });

  /** Logits of the prompt's last position, then of each decode step (teacher-forced on `tokens`). */
  async function prefillAndDecode(runner: OnnxRunner, chunks: number[]): Promise<Float32Array> {
    const logits = new Float32Array((DECODE_STEPS + 1) * VOCAB);
    let past = 0;
    for (const chunk of chunks) {
      logits.set(await runner.forward({ firstRow: 0, tokens: [tokens.slice(past, past + chunk)], pastLengths: [past] }), 0);
      past += chunk;
    }
    for (let s = 0; s < DECODE_STEPS; s++) {
      logits.set(await runner.forward({ firstRow: 0, tokens: [[tokens[PROMPT_LENGTH + s]]], pastLengths: [PROMPT_LENGTH + s] }), (s + 1) * VOCAB);
    }
    runner.releaseRow(0);
    return logits;
  }

  it('holds a quarter of the float cache per token, plus a scale per position and head, and says so', () => {
    expect(int8.kvCacheType).toBe('int8');
    expect(float.kvCacheType).toBe('float32');
    const { numLayers, kvHeads, headDim } = int8.info;
    expect(int8.info.kvBytesPerToken).toBe(numLayers * kvHeads * 2 * (headDim + 4));
    expect(float.info.kvBytesPerToken).toBe(numLayers * kvHeads * 2 * headDim * 4);
  });

  it('prefills and decodes close to the reference and to the float cache', async () => {
    const ours = await prefillAndDecode(int8, [PROMPT_LENGTH]);
    const floatLogits = await prefillAndDecode(float, [PROMPT_LENGTH]);
    const weights = blockRoundedSource(tinyModelWeights(), TINY_MODEL_FORMATS.int8);
    const all = ReferenceModel.load(weights).newSequence().forward(tokens);
    weights.close();
    const reference = all.slice((PROMPT_LENGTH - 1) * VOCAB, (PROMPT_LENGTH + DECODE_STEPS) * VOCAB);
    const vsReference = compareLogits(reference, ours, VOCAB);
    const vsFloat = compareLogits(floatLogits, ours, VOCAB);
    expect(vsReference.meanKlDivergence).toBeLessThan(INT8_VS_REFERENCE.meanKl);
    expect(vsReference.top1Agreement).toBeGreaterThanOrEqual(INT8_VS_REFERENCE.top1);
    expect(vsFloat.meanKlDivergence).toBeLessThan(INT8_VS_FLOAT.meanKl);
    expect(vsFloat.top1Agreement).toBeGreaterThanOrEqual(INT8_VS_FLOAT.top1);
  });

  it('gives nearly the same numbers whether a position came from the cache or from the step (chunked prefill)', async () => {
    // fp32 weights: with int8/int4 weights, MatMulNBits rounds activations to int8 per block, which
    // turns a chunk's different float summation order into jumps of a rounding step whatever the
    // cache (a 60-token prompt as 30 + 30 differs from one prefill by 0.29 in logits on the float
    // cache). Measured here, over the prompt's last position and 32 decode steps: max difference
    // 3.3e-3 for both splits (the prompt's position alone: 1.3e-4; the float cache: 1.3e-5): the
    // 14-bit probability codes move a step where a sum in another order crosses one.
    for (const chunks of [[40, 33, PROMPT_LENGTH - 73], [30, PROMPT_LENGTH - 30]]) {
      const whole = await prefillAndDecode(int8Fp32Weights, [PROMPT_LENGTH]);
      const chunked = await prefillAndDecode(int8Fp32Weights, chunks);
      expect(maxAbsDiff(whole, chunked), chunks.join(' + ')).toBeLessThan(1e-2);
    }
  });

  it('reads an export from before key blocks (keys transposed whole) with the same logits', async () => {
    const legacyDir = mkdtempSync(join(tmpdir(), 'qwen3-int8-kv-flat-keys-'));
    const weights = tinyModelWeights();
    exportQwen3Model(weights, legacyDir, { format: TINY_MODEL_FORMATS.int8, kvCache: 'int8', int8KeyBlock: 0, quiet: true });
    weights.close();
    const legacy = await OnnxRunner.open({ onnxPath: readModelManifest(legacyDir).onnxPath, device: 'cpu', threads: 1, maxSeqs: 3, maxLen: 256 });
    try {
      expect(legacy.kvCacheType).toBe('int8');
      const blocked = await prefillAndDecode(int8, [40, PROMPT_LENGTH - 40]);
      const flat = await prefillAndDecode(legacy, [40, PROMPT_LENGTH - 40]);
      // The same integer products and scales; only the capacity differs (whole 256-position blocks
      // against steps of 64), whose masked positions add exact zeros. Measured identical (max
      // difference 0, AMD EPYC Zen 3); the bound leaves room for another CPU's vector tails.
      expect(maxAbsDiff(blocked, flat)).toBeLessThanOrEqual(1e-5);
    } finally {
      await legacy.close();
      rmSync(legacyDir, { recursive: true, force: true });
    }
  });

  it('is batch invariant: rows of different lengths decoded together give what each gives alone', async () => {
    const lengths = [40, 17, 63];
    const prompts = lengths.map((length, salt) => randomTokens(length, 200 + salt, VOCAB));
    const alone: Float32Array[] = [];
    for (const prompt of prompts) {
      await int8.forward({ firstRow: 0, tokens: [prompt], pastLengths: [0] });
      alone.push(await int8.forward({ firstRow: 0, tokens: [[9]], pastLengths: [prompt.length] }));
      int8.releaseRow(0);
    }
    for (const [row, prompt] of prompts.entries()) await int8.forward({ firstRow: row, tokens: [prompt], pastLengths: [0] });
    const together = await int8.forward({ firstRow: 0, tokens: [[9], [9], [9]], pastLengths: lengths });
    for (let row = 0; row < 3; row++) int8.releaseRow(row);
    // Per-row quantization and exact integer products: nothing depends on the other rows. The
    // bound allows the LM head's order of summation for one row against a batch (int8 MatMulNBits).
    for (let row = 0; row < 3; row++) {
      expect(maxAbsDiff(together.subarray(row * VOCAB, (row + 1) * VOCAB), alone[row]), `row ${row}`).toBeLessThanOrEqual(2e-5);
    }
  });
});

describe('a server on an int8 KV cache export', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'qwen3-int8-kv-server-'));
    const weights = tinyModelWeights();
    exportQwen3Model(weights, dir, { format: TINY_MODEL_FORMATS.int4, kvCache: 'int8', prefillGraph: true, quiet: true });
    weights.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers through both graphs, budgets KV at the int8 size, and logs and exports the cache type', async () => {
    const server = await startTestServer({ engine: { modelDir: dir }, servedModelName: 'tiny-int8-kv' });
    try {
      const info = server.handle.engine!.info;
      expect(info.kvCache).toBe('int8');
      expect(info.prefillGraph).toBe(true);
      const completion = await server.openai().chat.completions.create({
        model: 'tiny-int8-kv',
        messages: [{ role: 'user', content: 'Summarise this contract in one line, please: the parties agree to everything.' }],
        max_tokens: 8,
        temperature: 0,
      });
      expect(completion.usage!.completion_tokens).toBe(8);
      expect(server.logs.find((line) => line.msg === 'model loaded; ready')).toMatchObject({ kvCache: 'int8' });
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/qwen3_serve_runtime_info\{[^}]*kv_cache="int8"/);
    } finally {
      await server.handle.close();
    }
  });
});

describe('export --kv-cache int8', () => {
  it('refuses present KV outputs, whose shared buffer holds float values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qwen3-int8-kv-present-'));
    const weights = tinyModelWeights();
    try {
      expect(() => exportQwen3Model(weights, dir, { format: TINY_MODEL_FORMATS.int4, kvOutputs: 'present', kvCache: 'int8', quiet: true })).toThrow(/new-positions/);
    } finally {
      weights.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
