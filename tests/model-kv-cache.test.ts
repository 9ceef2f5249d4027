import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportQwen3Model } from '../src/convert/export/export-model.js';
import { PRESETS } from '../src/convert/shape.js';
import { emptyPast, maxAbsDiff, runDecoder, TINY_MODEL_FORMATS, tinyModelDir, tinyModelWeights, type TinyModelFormat } from './helpers/models.js';

const tiny = PRESETS.tiny;
const V = tiny.vocabSize;
// A chat-like prompt: <|im_start|>user\nHello, how are you?<|im_end|>\n<|im_start|>assistant\n
const PROMPT = [151644, 872, 198, 9707, 11, 1246, 525, 498, 30, 151645, 198, 151644, 77091, 198];
const ones = (n: number) => Array<number>(n).fill(1);
const row = (logits: Float32Array, position: number) => logits.subarray(position * V, (position + 1) * V);

/**
 * Tolerances on logits (whose spread is ~4, peaks ~15-20). fp32 differs only by summation order.
 * The quantized formats add a step that amplifies such last-bit differences: MatMulNBits at
 * accuracy_level 4 quantizes each activation row to int8, and an activation that sits on a
 * rounding boundary can land on either side. A prompt split into steps is summed in another order
 * by the default (cache-reading) graphs, whose attention scores cached and new positions in two
 * products, so there a split moved int8 logits by up to 0.024 on a Zen 3 (AVX2) and by 0.20 on a
 * Zen 5 (AVX-512 VNNI), whose kernels round differently (GQA's single kernel kept them within
 * 1e-3). For scale: quantizing the tiny model's weights to int8 moves its logits by ~0.6 from the
 * fp32 model's. The fp32 bound is what shows the split computes the same thing; the quantized
 * bounds only catch a split that reads the wrong positions, which moves logits by whole units.
 */
const TOLERANCE: Record<TinyModelFormat, number> = { fp32: 1e-4, int8: 0.3, int4: 0.3 };

describe.each(['fp32', 'int8', 'int4'] as const)('tiny %s KV cache', (format) => {
  let session: ort.InferenceSession;
  /** The same weights written with `present` outputs (GroupQueryAttention on a shared buffer). */
  let presentSession: ort.InferenceSession;
  let presentDir: string;
  beforeAll(async () => {
    session = await ort.InferenceSession.create(join(tinyModelDir(format), 'model.onnx'));
    presentDir = mkdtempSync(join(tmpdir(), 'kv-present-'));
    exportQwen3Model(tinyModelWeights(), presentDir, { format: TINY_MODEL_FORMATS[format], kvOutputs: 'present', quiet: true });
    presentSession = await ort.InferenceSession.create(join(presentDir, 'model.onnx'));
  });
  afterAll(async () => {
    await session.release();
    await presentSession.release();
    rmSync(presentDir, { recursive: true, force: true });
  });

  it('gives the same logits for a prefill of N tokens as for N-k tokens then k one-token decode steps', async () => {
    const full = await runDecoder(session, tiny, [PROMPT], [ones(PROMPT.length)], emptyPast(tiny, 1));
    const k = 4;
    const split = PROMPT.length - k;
    let step = await runDecoder(session, tiny, [PROMPT.slice(0, split)], [ones(split)], emptyPast(tiny, 1));
    expect(maxAbsDiff(row(step.logits, split - 1), row(full.logits, split - 1))).toBeLessThan(TOLERANCE[format]);
    for (let position = split; position < PROMPT.length; position++) {
      step = await runDecoder(session, tiny, [[PROMPT[position]]], [ones(position + 1)], step.past);
      expect(maxAbsDiff(step.logits, row(full.logits, position)), `position ${position}`).toBeLessThan(TOLERANCE[format]);
    }
    // The cache built step by step holds what the single prefill computed.
    for (const [name, tensor] of Object.entries(step.past)) {
      expect(tensor.dims).toEqual([1, tiny.numKeyValueHeads, PROMPT.length, tiny.headDim]);
      expect(maxAbsDiff(tensor.data as Float32Array, full.past[name].data as Float32Array), name).toBeLessThan(TOLERANCE[format]);
    }
  });

  it('gives the same logits for a prefill split into two chunks (S > 1 over a non-empty past)', async () => {
    const full = await runDecoder(session, tiny, [PROMPT], [ones(PROMPT.length)], emptyPast(tiny, 1));
    const split = 5;
    const first = await runDecoder(session, tiny, [PROMPT.slice(0, split)], [ones(split)], emptyPast(tiny, 1));
    const second = await runDecoder(session, tiny, [PROMPT.slice(split)], [ones(PROMPT.length)], first.past);
    expect(maxAbsDiff(second.logits, full.logits.subarray(split * V))).toBeLessThan(TOLERANCE[format]);
  });

  it('updates a max-length KV buffer in place when the same tensor is fed as past and fetched as present (present-output export)', async () => {
    const session = presentSession;
    const prompt = PROMPT.slice(0, 6);
    const prefill = await runDecoder(session, tiny, [prompt], [ones(prompt.length)], emptyPast(tiny, 1));
    const nextToken = 1246;
    const expected = await runDecoder(session, tiny, [[nextToken]], [ones(prompt.length + 1)], prefill.past);

    const maxLength = 16;
    const positionWidth = tiny.headDim;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.of(BigInt(nextToken)), [1, 1]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(prompt.length + 1).fill(1n), [1, prompt.length + 1]),
    };
    const fetches: Record<string, ort.Tensor | null> = { logits: null };
    for (const [name, tensor] of Object.entries(prefill.past)) {
      const buffer = new Float32Array(tiny.numKeyValueHeads * maxLength * positionWidth); // [1, kvHeads, maxLength, headDim]
      const filled = tensor.data as Float32Array;
      for (let h = 0; h < tiny.numKeyValueHeads; h++) {
        buffer.set(filled.subarray(h * prompt.length * positionWidth, (h + 1) * prompt.length * positionWidth), h * maxLength * positionWidth);
      }
      const shared = new ort.Tensor('float32', buffer, [1, tiny.numKeyValueHeads, maxLength, tiny.headDim]);
      feeds[name] = shared;
      fetches[name.replace('past_key_values', 'present')] = shared;
    }
    const outputs = await session.run(feeds, fetches as ort.InferenceSession.FetchesType);
    expect(maxAbsDiff(outputs.logits.data as Float32Array, expected.logits)).toBeLessThan(TOLERANCE[format]);
    // The new position was written into the caller's buffer, at the row's next position.
    for (const [name, tensor] of Object.entries(expected.past)) {
      const buffer = feeds[name].data as Float32Array;
      const length = prompt.length + 1;
      for (let h = 0; h < tiny.numKeyValueHeads; h++) {
        const got = buffer.subarray(h * maxLength * positionWidth, (h * maxLength + length) * positionWidth);
        const want = (tensor.data as Float32Array).subarray(h * length * positionWidth, (h + 1) * length * positionWidth);
        expect(maxAbsDiff(got, want), name).toBeLessThan(TOLERANCE[format]);
      }
    }
  });

  it('decodes two sequences of different lengths in one batch with right-padded KV buffers as each alone', async () => {
    const sequences = [PROMPT.slice(0, 9), PROMPT.slice(3, 7)]; // lengths 9 and 4
    const nextTokens = [9707, 1246];
    const alone = [];
    for (const [i, tokens] of sequences.entries()) {
      const prefill = await runDecoder(session, tiny, [tokens], [ones(tokens.length)], emptyPast(tiny, 1));
      const decode = await runDecoder(session, tiny, [[nextTokens[i]]], [ones(tokens.length + 1)], prefill.past);
      alone.push({ prefill, decode });
    }

    // [2, kvHeads, 9, headDim]: row 0 holds 9 positions, row 1 holds 4 then padding. The padding is
    // filled with large values so any read of it would show in the logits.
    const padded = Math.max(...sequences.map((s) => s.length));
    const positionWidth = tiny.headDim;
    const past: Record<string, ort.Tensor> = {};
    for (const name of Object.keys(alone[0].prefill.past)) {
      const buffer = new Float32Array(2 * tiny.numKeyValueHeads * padded * positionWidth).fill(1e3);
      for (const [b, { prefill }] of alone.entries()) {
        const source = prefill.past[name].data as Float32Array; // [1, kvHeads, len, headDim]
        const length = sequences[b].length;
        for (let h = 0; h < tiny.numKeyValueHeads; h++) {
          const from = source.subarray(h * length * positionWidth, (h + 1) * length * positionWidth);
          buffer.set(from, ((b * tiny.numKeyValueHeads + h) * padded) * positionWidth);
        }
      }
      past[name] = new ort.Tensor('float32', buffer, [2, tiny.numKeyValueHeads, padded, tiny.headDim]);
    }
    const mask = sequences.map((s) => [...ones(s.length + 1), ...Array<number>(padded - s.length).fill(0)]);
    const batched = await runDecoder(session, tiny, nextTokens.map((t) => [t]), mask, past);

    for (const b of [0, 1]) {
      expect(maxAbsDiff(row(batched.logits, b), alone[b].decode.logits), `row ${b}`).toBeLessThan(TOLERANCE[format]);
      // The new token's key lands at the row's own next position, not at the padded end.
      const name = 'past_key_values.0.key';
      const present = batched.past[name]; // [2, kvHeads, padded + 1, headDim]
      const total = present.dims[2];
      const length = sequences[b].length + 1;
      const own = alone[b].decode.past[name].data as Float32Array; // [1, kvHeads, length, headDim]
      for (let h = 0; h < tiny.numKeyValueHeads; h++) {
        const start = ((b * tiny.numKeyValueHeads + h) * total) * positionWidth;
        const got = (present.data as Float32Array).subarray(start, start + length * positionWidth);
        expect(maxAbsDiff(got, own.subarray(h * length * positionWidth, (h + 1) * length * positionWidth))).toBeLessThan(TOLERANCE[format]);
      }
    }
  });
});
