import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportQwen3Model } from '../src/convert/export/export-model.js';
import { argmax } from './reference/logit-comparison.js';
import { ReferenceModel } from './reference/reference-model.js';
import { PRESETS, type Qwen3Shape } from '../src/convert/shape.js';
import { createRandomWeightSource } from '../src/convert/weights/random-source.js';
import { openSafetensorsCheckpoint } from '../src/convert/weights/safetensors-source.js';
import { writeSafetensorsCheckpoint } from './helpers/safetensors-writer.js';
import { tinyModelDir, tinyModelWeights } from './helpers/models.js';
import { OnnxDecoderSequence, openDecoderSession } from './reference-onnx-sequence.js';
import { randomTokens } from './helpers/random-tokens.js';

/**
 * Largest |ONNX - reference| allowed on any fp32 logit. Measured: about 2e-5 (fp32 rounding in
 * different summation orders; the logits have a standard deviation of about 4). The smallest
 * semantic slip tried by hand, rms_norm_eps 1e-5 instead of 1e-6, moves logits by 1e-3; every
 * structural one (rope_theta, rotary pairing, q/k norm weights, GQA head grouping) by units.
 */
const FP32_LOGIT_TOLERANCE = 1e-4;

const shape = PRESETS.tiny;

/** Worst |a - b| over two logit rows of equal length. */
function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

function rows(logits: Float32Array, vocab: number): Float32Array[] {
  return Array.from({ length: logits.length / vocab }, (_, i) => logits.subarray(i * vocab, (i + 1) * vocab));
}

/**
 * Prefills `prompt` on both sides, then decodes `steps` tokens greedily (the reference's argmax fed
 * to both), checking every logit row; returns the worst difference seen.
 */
async function expectSameGreedyRun(
  reference: ReferenceModel,
  session: ort.InferenceSession,
  modelShape: Qwen3Shape,
  prompt: number[],
  steps: number,
): Promise<number> {
  const vocab = modelShape.vocabSize;
  const refSequence = reference.newSequence();
  const onnxSequence = new OnnxDecoderSequence(session, modelShape);
  let worst = 0;
  let next = prompt;
  for (let step = 0; step <= steps; step++) {
    const expected = rows(refSequence.forward(next), vocab);
    const actual = rows(await onnxSequence.forward(next), vocab);
    expected.forEach((row, i) => {
      const difference = maxAbsDifference(row, actual[i]);
      worst = Math.max(worst, difference);
      expect(difference, `position ${refSequence.length - expected.length + i}`).toBeLessThan(FP32_LOGIT_TOLERANCE);
    });
    const greedy = argmax(expected[expected.length - 1]);
    expect(argmax(actual[actual.length - 1])).toBe(greedy);
    next = [greedy];
  }
  expect(onnxSequence.length).toBe(prompt.length + steps);
  return worst;
}

describe('fp32 ONNX export vs the reference forward pass', () => {
  let reference: ReferenceModel;
  let session: ort.InferenceSession;

  beforeAll(async () => {
    const weights = tinyModelWeights();
    reference = ReferenceModel.load(weights);
    weights.close();
    session = await openDecoderSession(join(tinyModelDir('fp32'), 'model.onnx'));
  });
  afterAll(() => session?.release());

  const { bosTokenId, eosTokenId } = shape;
  const prompts: Record<string, number[]> = {
    'one token': [bosTokenId],
    'a chat turn of special and ordinary tokens': [151644, 872, 198, 9707, 11, 1246, 525, 498, 30, 151645, 198, 151644, 77091, 198],
    'the vocabulary edges and a repeated token': [0, shape.vocabSize - 1, 5, 5, 5, 5, eosTokenId, 1],
    '48 random tokens': randomTokens(48, 3, shape.vocabSize),
  };

  it.each(Object.entries(prompts))('matches on %s, prefill then 6 decode steps with the KV cache', async (_, prompt) => {
    const worst = await expectSameGreedyRun(reference, session, shape, prompt, 6);
    expect(worst).toBeGreaterThan(0); // two independent implementations never agree bit for bit
  });

  it('matches when a prompt is prefilled in chunks onto a non-empty past', async () => {
    const tokens = randomTokens(30, 9, shape.vocabSize);
    const expected = reference.newSequence().forward(tokens); // [30, vocab] in one pass
    const onnxSequence = new OnnxDecoderSequence(session, shape);
    const chunks: number[][] = [];
    for (let at = 0, size = 4; at < tokens.length; at += size, size += 3) chunks.push(tokens.slice(at, at + size));
    const actual = new Float32Array(expected.length);
    let at = 0;
    for (const chunk of chunks) {
      actual.set(await onnxSequence.forward(chunk), at * shape.vocabSize);
      at += chunk.length;
    }
    expect(maxAbsDifference(actual, expected)).toBeLessThan(FP32_LOGIT_TOLERANCE);
  });
});

describe('exporting a safetensors checkpoint', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'reference-onnx-checkpoint-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives an ONNX model that matches the reference run on that checkpoint (bf16, sharded, untied LM head)', async () => {
    // Untied, so both sides must find lm_head.weight; a different seed and rope_theta from the tiny models.
    const checkpointShape: Qwen3Shape = { ...shape, tieWordEmbeddings: false, ropeTheta: 5_000_000 };
    const checkpoint = join(dir, 'checkpoint');
    const generated = createRandomWeightSource(checkpointShape, 21);
    writeSafetensorsCheckpoint(generated, checkpoint, { dtype: 'BF16', shards: 2 });
    generated.close();

    const forExport = openSafetensorsCheckpoint(checkpoint);
    exportQwen3Model(forExport, join(dir, 'onnx'), { format: { bits: 32, blockSize: 32 }, quiet: true });
    forExport.close();
    const forReference = openSafetensorsCheckpoint(checkpoint);
    expect(forReference.shape).toEqual(checkpointShape);
    const reference = ReferenceModel.load(forReference);
    forReference.close();

    const session = await openDecoderSession(join(dir, 'onnx', 'model.onnx'));
    try {
      await expectSameGreedyRun(reference, session, checkpointShape, randomTokens(12, 5, shape.vocabSize), 4);
    } finally {
      await session.release();
    }
  });
});
