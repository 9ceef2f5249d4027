import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportQwen3Model } from '../src/convert/export/export-model.js';
import { PREFILL_MODEL_FILE } from '../src/convert/onnx/write-onnx-model.js';
import { readModelManifest } from '../src/model/model-manifest.js';
import { defaultSpinPolicy, OnnxRunner } from '../src/model/runner/onnx-runner.js';
import { parseSpinPolicy, SPIN_POLICIES } from '../src/model/runner/open-session.js';
import { maxAbsDiff, TINY_MODEL_FORMATS, tinyModelWeights, type TinyModelFormat } from './helpers/models.js';
import { type BlockQuantization, blockRoundedSource } from './reference/block-rounded-source.js';
import { compareLogits } from './reference/logit-comparison.js';
import { startTestServer } from './helpers/server.js';
import { ReferenceModel } from './reference/reference-model.js';
import { randomTokens } from './helpers/random-tokens.js';

const VOCAB = 151936;
const PROMPT_LENGTH = 96;

/**
 * The int8 prefill graph (export --prefill-graph) on the tiny model: the runner sends chunks of
 * more than one token through it and single-token steps through the main graph.
 *
 * Limits, from measurements on the tiny model (seed 1, block 32, the tokens below):
 * - last-position logits at 8 prompt lengths against the reference pass on the same block-rounded
 *   weights: mean KL 0.0099 (int4) and 0.0115 (int8), top-1 1.0. The main graph measures
 *   0.0017-0.0020 on the same check (reference-onnx-quantized): 7-bit weights per column and int8
 *   activations per row (a whole row under one scale) round more than MatMulNBits' int8
 *   activations per block of 32. Limits: mean KL < 0.03, top-1 >= 0.85.
 * - 32 decode steps after a prefill through it, against the same steps after a prefill through
 *   the main graph: mean KL 0.0047 (int8) and 0.0050 (int4), top-1 1.0 and 0.97. Limits: mean
 *   KL < 0.015, top-1 >= 0.9.
 */
const PREFILL_VS_REFERENCE = { meanKl: 0.03, top1: 0.85 };
const DECODE_VS_MAIN = { meanKl: 0.015, top1: 0.9 };

describe.each(['int8', 'int4'] as const)('prefill graph (tiny %s)', (format: Exclude<TinyModelFormat, 'fp32'>) => {
  let dir: string;
  let withPrefill: OnnxRunner;
  let mainOnly: OnnxRunner;
  const tokens = randomTokens(PROMPT_LENGTH + 32, 23, VOCAB);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `qwen3-prefill-${format}-`));
    const weights = tinyModelWeights();
    exportQwen3Model(weights, dir, { format: TINY_MODEL_FORMATS[format], prefillGraph: true, quiet: true });
    weights.close();
    const manifest = readModelManifest(dir);
    const open = (prefillOnnxPath: string | undefined) => OnnxRunner.open({ onnxPath: manifest.onnxPath, prefillOnnxPath, device: 'cpu', threads: 1, maxSeqs: 3, maxLen: 256 });
    withPrefill = await open(manifest.prefillOnnxPath);
    mainOnly = await open(undefined);
  });
  afterAll(async () => {
    await withPrefill?.close();
    await mainOnly?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is written beside model.onnx, found by the manifest and loaded by the runner', () => {
    expect(existsSync(join(dir, PREFILL_MODEL_FILE))).toBe(true);
    expect(readModelManifest(dir).prefillOnnxPath).toBe(join(dir, PREFILL_MODEL_FILE));
    expect(withPrefill.hasPrefillGraph).toBe(true);
    expect(mainOnly.hasPrefillGraph).toBe(false);
  });

  it("never spins by default with two sessions, and every spin policy computes the same tokens' logits", async () => {
    expect(withPrefill.spinning).toBe(defaultSpinPolicy(true));
    expect(defaultSpinPolicy(true)).toBe('never');
    expect(mainOnly.spinning).toBe('always');
    const manifest = readModelManifest(dir);
    const prompt = tokens.slice(0, 20);
    const results: Float32Array[] = [];
    for (const spinning of SPIN_POLICIES) {
      const runner = await OnnxRunner.open({ onnxPath: manifest.onnxPath, prefillOnnxPath: manifest.prefillOnnxPath, device: 'cpu', threads: 2, spinning, maxSeqs: 1, maxLen: 64 });
      try {
        expect(runner.spinning).toBe(spinning);
        // A prefill through the prefill graph, then a decode through the main graph.
        await runner.forward({ firstRow: 0, tokens: [prompt], pastLengths: [0] });
        results.push(await runner.forward({ firstRow: 0, tokens: [[tokens[20]]], pastLengths: [20] }));
      } finally {
        await runner.close();
      }
    }
    for (const logits of results.slice(1)) expect(maxAbsDiff(logits, results[0])).toBe(0);
    expect(() => parseSpinPolicy('sometimes')).toThrow(/always, within-run, never/);
  });

  it('prefills to the last-position logits of the reference on the same block-rounded weights', async () => {
    const lengths = [8, 16, 24, 40, 56, 72, 88, 96];
    const weights = blockRoundedSource(tinyModelWeights(), TINY_MODEL_FORMATS[format] as BlockQuantization);
    const reference = ReferenceModel.load(weights).newSequence().forward(tokens.slice(0, PROMPT_LENGTH));
    weights.close();
    const ours = new Float32Array(lengths.length * VOCAB);
    const expected = new Float32Array(lengths.length * VOCAB);
    for (const [i, length] of lengths.entries()) {
      ours.set(await withPrefill.forward({ firstRow: 0, tokens: [tokens.slice(0, length)], pastLengths: [0] }), i * VOCAB);
      expected.set(reference.subarray((length - 1) * VOCAB, length * VOCAB), i * VOCAB);
      withPrefill.releaseRow(0);
    }
    const agreement = compareLogits(expected, ours, VOCAB);
    expect(agreement.meanKlDivergence).toBeLessThan(PREFILL_VS_REFERENCE.meanKl);
    expect(agreement.top1Agreement).toBeGreaterThanOrEqual(PREFILL_VS_REFERENCE.top1);
  });

  it('leaves a KV cache that decodes like the main graph’s', async () => {
    const decodeAfterPrefill = async (runner: OnnxRunner) => {
      await runner.forward({ firstRow: 0, tokens: [tokens.slice(0, PROMPT_LENGTH)], pastLengths: [0] });
      const logits = new Float32Array(32 * VOCAB);
      for (let s = 0; s < 32; s++) {
        logits.set(await runner.forward({ firstRow: 0, tokens: [[tokens[PROMPT_LENGTH + s]]], pastLengths: [PROMPT_LENGTH + s] }), s * VOCAB);
      }
      runner.releaseRow(0);
      return logits;
    };
    const agreement = compareLogits(await decodeAfterPrefill(mainOnly), await decodeAfterPrefill(withPrefill), VOCAB);
    expect(agreement.meanKlDivergence).toBeLessThan(DECODE_VS_MAIN.meanKl);
    expect(agreement.top1Agreement).toBeGreaterThanOrEqual(DECODE_VS_MAIN.top1);
  });

  it("is batch invariant: a prompt prefilled beside others gives its own logits and KV", async () => {
    const prompts = [0, 1, 2].map((salt) => randomTokens(40, 100 + salt, VOCAB));
    const alone: Float32Array[] = [];
    const alonePrefill: Float32Array[] = [];
    for (const prompt of prompts) {
      alonePrefill.push(await withPrefill.forward({ firstRow: 0, tokens: [prompt], pastLengths: [0] }));
      alone.push(await withPrefill.forward({ firstRow: 0, tokens: [[7]], pastLengths: [40] }));
      withPrefill.releaseRow(0);
    }
    const together = await withPrefill.forward({ firstRow: 0, tokens: prompts, pastLengths: [0, 0, 0] });
    const next = await withPrefill.forward({ firstRow: 0, tokens: [[7], [7], [7]], pastLengths: [40, 40, 40] });
    for (let row = 0; row < 3; row++) withPrefill.releaseRow(row);
    // Activations are quantized per row and the integer products are exact, so the prefill graph
    // adds nothing; int4's LM head (MatMulNBits) sums a lone row in another order than a batch
    // (~5e-6, see runner-batch-invariance), which the bound allows for int4 only.
    const bound = format === 'int8' ? 0 : 2e-5;
    for (let row = 0; row < 3; row++) {
      expect(maxAbsDiff(together.subarray(row * VOCAB, (row + 1) * VOCAB), alonePrefill[row]), `prefill row ${row}`).toBeLessThanOrEqual(bound);
      expect(maxAbsDiff(next.subarray(row * VOCAB, (row + 1) * VOCAB), alone[row]), `row ${row}`).toBeLessThanOrEqual(bound);
    }
  });
});

describe('a server on an export with a prefill graph', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'qwen3-prefill-server-'));
    const weights = tinyModelWeights();
    exportQwen3Model(weights, dir, { format: TINY_MODEL_FORMATS.int4, prefillGraph: true, quiet: true });
    weights.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers through both graphs, logs and exports that it runs one (and how its threads spin), and loads only model.onnx with --no-prefill-graph', async () => {
    for (const prefillGraph of [true, false]) {
      const server = await startTestServer({ engine: { modelDir: dir, prefillGraph }, servedModelName: 'tiny-prefill' });
      try {
        expect(server.handle.engine!.info.prefillGraph).toBe(prefillGraph);
        const completion = await server.openai().chat.completions.create({
          model: 'tiny-prefill',
          messages: [{ role: 'user', content: 'Summarise this contract in one line, please: the parties agree to everything.' }],
          max_tokens: 6,
          temperature: 0,
        });
        expect(completion.usage!.prompt_tokens).toBeGreaterThan(10);
        expect(completion.usage!.completion_tokens).toBe(6);
        const spinning = prefillGraph ? 'never' : 'always';
        expect(server.logs.find((line) => line.msg === 'model loaded; ready')).toMatchObject({ prefillGraph, spinning });
        const metrics = await (await fetch(`${server.url}/metrics`)).text();
        expect(metrics).toMatch(new RegExp(`qwen3_serve_runtime_info\\{[^}]*spinning="${spinning}"[^}]*prefill_graph="${prefillGraph ? 'int8' : 'none'}"`));
      } finally {
        await server.handle.close();
      }
    }
  });
});

describe('export --prefill-graph', () => {
  it('refuses present KV outputs, whose cache the prefill graph could not share', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qwen3-prefill-present-'));
    const weights = tinyModelWeights();
    try {
      expect(() => exportQwen3Model(weights, dir, { format: TINY_MODEL_FORMATS.int4, kvOutputs: 'present', prefillGraph: true, quiet: true })).toThrow(/new-positions/);
    } finally {
      weights.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
