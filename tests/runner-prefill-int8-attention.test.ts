import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportQwen3Model } from '../src/convert/export/export-model.js';
import { readModelManifest } from '../src/model/model-manifest.js';
import { OnnxRunner } from '../src/model/runner/onnx-runner.js';
import { maxAbsDiff, TINY_MODEL_FORMATS, tinyModelWeights } from './helpers/models.js';
import { randomTokens } from './helpers/random-tokens.js';
import { blockRoundedSource } from './reference/block-rounded-source.js';
import { compareLogits } from './reference/logit-comparison.js';
import { ReferenceModel } from './reference/reference-model.js';

const VOCAB = 151936;
const PROMPT_LENGTH = 96;
const DECODE_STEPS = 32;

/**
 * The prefill graph over an int8 KV cache (export --prefill-graph --kv-cache int8) reads the cache
 * dequantized, head by head (dequantized-cache-attention.ts), while the main graph reads it with
 * integer products. Tiny model, int8 weights (block 32, seed 1).
 *
 * Limits, from measurements with the tokens below (in brackets: the same export with the prefill
 * graph on the integer route, as before this attention existed):
 * - last-position logits at 8 prompt lengths against the reference on the same block-rounded
 *   weights: mean KL 0.0148 (0.0129), top-1 0.875 (0.875); the limits are the prefill graph's on a
 *   float cache (runner-prefill-graph): mean KL < 0.03, top-1 >= 0.85.
 * - a 96-token prefill through it, then 32 decode steps through the main graph, against the same
 *   with the prefill through the main graph (integer attention, MatMulNBits projections): mean KL
 *   0.0058 (0.0055), top-1 0.97 (0.97). Limits: mean KL < 0.015, top-1 >= 0.9.
 * - the prompt as 40 + 33 + 23 against one prefill, over the prompt's last position and 32 decode
 *   steps: max difference 4.6e-5 (0.27); as 30 + 66: 0.065. Attention itself sees a position the
 *   same from the cache as from the chunk (only the order of the softmax's sums differs); the
 *   jumps are the prefill graph's projections, which round each row's activations to int8 codes,
 *   so a difference in the last bits can move a code by one step. Limit: 0.15.
 */
const PREFILL_VS_REFERENCE = { meanKl: 0.03, top1: 0.85 };
const DECODE_VS_MAIN = { meanKl: 0.015, top1: 0.9 };

describe('prefill graph over an int8 KV cache (tiny int8)', () => {
  let dir: string;
  let withPrefill: OnnxRunner;
  let mainOnly: OnnxRunner;
  const tokens = randomTokens(PROMPT_LENGTH + DECODE_STEPS, 41, VOCAB);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qwen3-prefill-int8-kv-'));
    const weights = tinyModelWeights();
    exportQwen3Model(weights, dir, { format: TINY_MODEL_FORMATS.int8, kvCache: 'int8', prefillGraph: true, quiet: true });
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

  /** Prefills `chunks` (token counts summing to PROMPT_LENGTH) onto row 0, then decodes; the logits of the prompt's last position and every step. */
  async function prefillAndDecode(runner: OnnxRunner, chunks: number[]): Promise<Float32Array> {
    const logits = new Float32Array((DECODE_STEPS + 1) * VOCAB);
    let past = 0;
    for (const size of chunks) {
      logits.set(await runner.forward({ firstRow: 0, tokens: [tokens.slice(past, past + size)], pastLengths: [past] }), 0);
      past += size;
    }
    for (let s = 0; s < DECODE_STEPS; s++) {
      logits.set(await runner.forward({ firstRow: 0, tokens: [[tokens[PROMPT_LENGTH + s]]], pastLengths: [PROMPT_LENGTH + s] }), (s + 1) * VOCAB);
    }
    runner.releaseRow(0);
    return logits;
  }

  it('prefills to the last-position logits of the reference on the same block-rounded weights', async () => {
    const lengths = [8, 16, 24, 40, 56, 72, 88, 96];
    const weights = blockRoundedSource(tinyModelWeights(), TINY_MODEL_FORMATS.int8);
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

  it('leaves an int8 cache that the main graph decodes like its own', async () => {
    const agreement = compareLogits(await prefillAndDecode(mainOnly, [PROMPT_LENGTH]), await prefillAndDecode(withPrefill, [PROMPT_LENGTH]), VOCAB);
    expect(agreement.meanKlDivergence).toBeLessThan(DECODE_VS_MAIN.meanKl);
    expect(agreement.top1Agreement).toBeGreaterThanOrEqual(DECODE_VS_MAIN.top1);
  });

  it('gives nearly the same numbers whether a position came from the cache or from the chunk', async () => {
    const whole = await prefillAndDecode(withPrefill, [PROMPT_LENGTH]);
    for (const chunks of [[40, 33, PROMPT_LENGTH - 73], [30, PROMPT_LENGTH - 30]]) {
      const chunked = await prefillAndDecode(withPrefill, chunks);
      expect(maxAbsDiff(whole, chunked), chunks.join(' + ')).toBeLessThan(0.15);
    }
  });

  it('is batch invariant: prompts prefilled together give what each gives alone, and so does the cache they leave', async () => {
    // The runner batches multi-token steps only onto empty rows (one row at a time onto a past).
    const prompts = [0, 1, 2].map((salt) => randomTokens(40, 300 + salt, VOCAB));
    const alonePrefill: Float32Array[] = [];
    const alone: Float32Array[] = [];
    for (const prompt of prompts) {
      alonePrefill.push(await withPrefill.forward({ firstRow: 0, tokens: [prompt], pastLengths: [0] }));
      alone.push(await withPrefill.forward({ firstRow: 0, tokens: [[7]], pastLengths: [40] }));
      withPrefill.releaseRow(0);
    }
    const together = await withPrefill.forward({ firstRow: 0, tokens: prompts, pastLengths: [0, 0, 0] });
    const next = await withPrefill.forward({ firstRow: 0, tokens: [[7], [7], [7]], pastLengths: [40, 40, 40] });
    for (let row = 0; row < 3; row++) withPrefill.releaseRow(row);
    // Each row's heads are their own products in MultiHeadAttention, activations are quantized
    // per row and the integer products are exact: nothing depends on the other rows.
    for (let row = 0; row < 3; row++) {
      expect(maxAbsDiff(together.subarray(row * VOCAB, (row + 1) * VOCAB), alonePrefill[row]), `prefill row ${row}`).toBe(0);
      expect(maxAbsDiff(next.subarray(row * VOCAB, (row + 1) * VOCAB), alone[row]), `row ${row}`).toBe(0);
    }
  });
});
