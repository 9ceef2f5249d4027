import * as ort from 'onnxruntime-node';
import { inject } from 'vitest';
import { DECODER_IO, layerName } from '../../src/convert/onnx/decoder-io.js';
import { PRESETS, type Qwen3Shape } from '../../src/convert/shape.js';
import { createRandomWeightSource } from '../../src/convert/weights/random-source.js';
import type { WeightSource } from '../../src/convert/weights/weight-source.js';
import { TINY_MODEL_SEED, type TinyModelFormat } from '../global-setup.js';

export { TINY_MODEL_FORMATS, TINY_MODEL_SEED, type TinyModelFormat } from '../global-setup.js';

/**
 * The exported tiny model folder (genai layout: model.onnx, configs, tokenizer) in the given
 * weight format, written once per test run by tests/global-setup.ts.
 */
export function tinyModelDir(format: TinyModelFormat): string {
  return inject('tinyModels').dirs[format];
}

/** The seeded weights the tiny models were exported from, e.g. for the reference forward pass. */
export function tinyModelWeights(): WeightSource {
  return createRandomWeightSource(PRESETS.tiny, TINY_MODEL_SEED);
}

/** Past KV feeds holding no positions yet: [batch, kvHeads, 0, headDim] per layer. */
export function emptyPast(shape: Qwen3Shape, batch: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (let layer = 0; layer < shape.numHiddenLayers; layer++) {
    for (const pattern of [DECODER_IO.pastKeyPattern, DECODER_IO.pastValuePattern]) {
      feeds[layerName(pattern, layer)] = new ort.Tensor('float32', new Float32Array(0), [batch, shape.numKeyValueHeads, 0, shape.headDim]);
    }
  }
  return feeds;
}

export interface DecoderStep {
  /** [batch, sequence, vocab] */
  logits: Float32Array;
  /** present.N.key|value under the past_key_values.N.key|value names, ready to feed back. */
  past: Record<string, ort.Tensor>;
}

/** One forward pass: token ids [batch][sequence], mask [batch][total], past KV feeds. */
export async function runDecoder(
  session: ort.InferenceSession,
  shape: Qwen3Shape,
  inputIds: number[][],
  attentionMask: number[][],
  past: Record<string, ort.Tensor>,
): Promise<DecoderStep> {
  const int64 = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat(), BigInt), [rows.length, rows[0].length]);
  const outputs = await session.run({
    [DECODER_IO.inputIds]: int64(inputIds),
    [DECODER_IO.attentionMask]: int64(attentionMask),
    ...past,
  });
  const next: Record<string, ort.Tensor> = {};
  for (let layer = 0; layer < shape.numHiddenLayers; layer++) {
    next[layerName(DECODER_IO.pastKeyPattern, layer)] = outputs[layerName(DECODER_IO.presentKeyPattern, layer)];
    next[layerName(DECODER_IO.pastValuePattern, layer)] = outputs[layerName(DECODER_IO.presentValuePattern, layer)];
  }
  return { logits: outputs[DECODER_IO.logits].data as Float32Array, past: next };
}

/** The largest absolute difference between two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}
