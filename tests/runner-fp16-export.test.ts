import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportQwen3Model } from '../src/convert/export/export-model.js';
import type { IoPrecision } from '../src/convert/onnx/decoder-io.js';
import type { WeightFormat } from '../src/convert/onnx/projection.js';
import { PRESETS, type Qwen3Shape } from '../src/convert/shape.js';
import { createRandomWeightSource } from '../src/convert/weights/random-source.js';
import { readModelManifest } from '../src/model/model-manifest.js';
import { OnnxRunner } from '../src/model/runner/onnx-runner.js';
import { describeRunnerOnFp16Model } from './helpers/fp16-runner-suite.js';
import { maxAbsDiff } from './helpers/models.js';
import { expectSlotsReturnToEmpty } from './helpers/slot-reuse-check.js';

/**
 * The model builder's fp16 layout written by this project's own exporter, so the runner and engine
 * paths the builder fixture covers (int32 ids, fp16 KV and logits, a genai_config.json naming a
 * position_ids input the graph lacks) are tested in a clone without ../shared/fixtures. The shape
 * is the fixture's: 2 layers, 4 query and 2 KV heads of 16, hidden 64, vocab 1000, context 128.
 */
const SHAPE: Qwen3Shape = {
  ...PRESETS.tiny,
  vocabSize: 1000,
  hiddenSize: 64,
  intermediateSize: 128,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  numKeyValueHeads: 2,
  headDim: 16,
  maxPositionEmbeddings: 128,
  bosTokenId: 1,
  eosTokenId: 2,
  padTokenId: 0,
};
const SEED = 7;

/**
 * int4 in the fp16 layout is what `export --io-precision fp16` writes by default (and takes the
 * embedding's GatherBlockQuantized through int32 ids); the fp32-weight pair isolates the layout's
 * own rounding for the comparison at the end.
 */
const EXPORTS = {
  int4Fp16: { format: { bits: 4, blockSize: 32 }, ioPrecision: 'fp16' },
  fp32Fp16: { format: { bits: 32, blockSize: 32 }, ioPrecision: 'fp16' },
  fp32Fp32: { format: { bits: 32, blockSize: 32 }, ioPrecision: 'fp32' },
} as const satisfies Record<string, { format: WeightFormat; ioPrecision: IoPrecision }>;

const root = mkdtempSync(join(tmpdir(), 'qwen3-fp16-export-'));
const dirs = Object.fromEntries(Object.keys(EXPORTS).map((name) => [name, join(root, name)])) as Record<keyof typeof EXPORTS, string>;

beforeAll(() => {
  for (const [name, { format, ioPrecision }] of Object.entries(EXPORTS)) {
    const source = createRandomWeightSource(SHAPE, SEED);
    try {
      // The builder's quirk comes with its layout: genai_config.json names position_ids, the graph has none.
      exportQwen3Model(source, dirs[name as keyof typeof EXPORTS], { format, ioPrecision, listPositionIdsInConfig: ioPrecision === 'fp16', quiet: true });
    } finally {
      source.close();
    }
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describeRunnerOnFp16Model('OnnxRunner on an fp16-layout export (int4 weights, the builder fixture shape)', dirs.int4Fp16, {
  contextLength: 128,
  // Qwen3's generation config ends on <|im_end|> and <|endoftext|>: the shape's eos and bos.
  eosTokenIds: [2, 1],
  hasTokenizer: true,
  numLayers: 2,
  kvHeads: 2,
  headDim: 16,
  vocabSize: 1000,
  // Seen: one fp16 step (5e-4 at a logit near 1). Logits span about ±15, where a step is 1/128;
  // a cache in the wrong row or position moves them by whole units.
  logitTolerance: 1 / 32,
});

describe('EngineCore on an fp16-layout export (vocab 1000, token ids only)', () => {
  it('rows and KV return to empty after hundreds of finished and aborted requests', () => expectSlotsReturnToEmpty(dirs.int4Fp16));
});

describe('fp16 layout against the default fp32 layout of the same fp32 weights', () => {
  it('computes the same logits within fp16 rounding, through prefill and decode steps', async () => {
    const open = (dir: string) => OnnxRunner.open({ onnxPath: readModelManifest(dir).onnxPath, device: 'cpu', maxSeqs: 1, maxLen: 32 });
    const [half, full] = await Promise.all([open(dirs.fp32Fp16), open(dirs.fp32Fp32)]);
    try {
      const prompt = [5, 17, 99, 3, 42, 7, 8, 100];
      const steps: { tokens: number[][]; pastLengths: number[] }[] = [{ tokens: [prompt], pastLengths: [0] }];
      for (let i = 0; i < 4; i++) steps.push({ tokens: [[200 + i]], pastLengths: [prompt.length + i] });
      for (const step of steps) {
        const [a, b] = [await half.forward({ firstRow: 0, ...step }), await full.forward({ firstRow: 0, ...step })];
        // Logits span about ±15, where fp16 steps by 1/128; attention in fp16 adds about as much
        // again (seen: at most 0.015). A cast in the wrong place would cost whole units.
        expect(maxAbsDiff(a, b)).toBeLessThan(0.05);
        expect(argmax(a)).toBe(argmax(b));
      }
    } finally {
      await Promise.all([half.close(), full.close()]);
    }
  });
});

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
