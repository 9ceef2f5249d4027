import { inject } from 'vitest';
import { PRESETS } from '../../src/model/shape.js';
import { createRandomWeightSource } from '../../src/model/weights/random-source.js';
import type { WeightSource } from '../../src/model/weights/weight-source.js';
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
