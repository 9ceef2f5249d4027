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
  /**
   * The cache after the step under the past_key_values.N.key|value names, ready to feed back: the
   * graph's present.N.key|value, or for graphs that output only the new positions, the past with
   * new_key_values.N.* written at each row's next positions (what the server's KV pool does).
   */
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
  const inPlace = session.outputNames.includes(layerName(DECODER_IO.presentKeyPattern, 0));
  const pastLengths = attentionMask.map((row) => row.reduce((a, b) => a + b, 0) - inputIds[0].length);
  const next: Record<string, ort.Tensor> = {};
  for (let layer = 0; layer < shape.numHiddenLayers; layer++) {
    for (const [pastPattern, presentPattern, newPattern] of [
      [DECODER_IO.pastKeyPattern, DECODER_IO.presentKeyPattern, DECODER_IO.newKeyPattern],
      [DECODER_IO.pastValuePattern, DECODER_IO.presentValuePattern, DECODER_IO.newValuePattern],
    ]) {
      const pastName = layerName(pastPattern, layer);
      next[pastName] = inPlace
        ? outputs[layerName(presentPattern, layer)]
        : withNewPositions(past[pastName], outputs[layerName(newPattern, layer)], pastLengths, attentionMask[0].length);
    }
  }
  return { logits: outputs[DECODER_IO.logits].data as Float32Array, past: next };
}

/**
 * past [B, kvHeads, P, headDim] widened to max(P, total) positions, with added [B, kvHeads, S,
 * headDim] written after each row's pastLengths[b] positions: GQA's present, built by hand.
 */
export function withNewPositions(past: ort.Tensor, added: ort.Tensor, pastLengths: number[], total: number): ort.Tensor {
  const [batch, heads, pastWidth, headDim] = past.dims;
  const addedLength = added.dims[2];
  const width = Math.max(pastWidth, total);
  const out = new Float32Array(batch * heads * width * headDim);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const row = (b * heads + h) * width * headDim;
      const from = (b * heads + h) * pastWidth * headDim;
      out.set((past.data as Float32Array).subarray(from, from + pastWidth * headDim), row);
      const addedFrom = (b * heads + h) * addedLength * headDim;
      out.set((added.data as Float32Array).subarray(addedFrom, addedFrom + addedLength * headDim), row + pastLengths[b] * headDim);
    }
  }
  return new ort.Tensor('float32', out, [batch, heads, width, headDim]);
}

/** The largest absolute difference between two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}
