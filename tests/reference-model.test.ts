import { describe, expect, it } from 'vitest';
import { causalGroupedQueryAttention } from './reference/causal-attention.js';
import { ReferenceModel } from './reference/reference-model.js';
import { rmsNorm } from './reference/rms-norm.js';
import { RotaryEmbedding } from './reference/rotary-embedding.js';
import { PRESETS, type Qwen3Shape } from '../src/convert/shape.js';
import { createRandomWeightSource } from '../src/convert/weights/random-source.js';
import { LM_HEAD_WEIGHT, type WeightSource } from '../src/convert/weights/weight-source.js';
import { randomTokens } from './helpers/random-tokens.js';

/** The tiny preset's body with a 4096-token vocabulary: the LM head is what costs time. */
const SHAPE: Qwen3Shape = { ...PRESETS.tiny, vocabSize: 4096 };
const model = ReferenceModel.load(createRandomWeightSource(SHAPE, 11));

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

function row(logits: Float32Array, index: number): Float32Array {
  return logits.subarray(index * SHAPE.vocabSize, (index + 1) * SHAPE.vocabSize);
}

describe('reference forward pass: KV cache', () => {
  const tokens = randomTokens(40, 1, SHAPE.vocabSize);
  const allAtOnce = model.newSequence().forward(tokens); // [40, vocab]

  it('gives non-degenerate logits (finite, spread over several units)', () => {
    let sum = 0;
    let sumSquares = 0;
    const last = row(allAtOnce, 39);
    for (const x of last) {
      expect(Number.isFinite(x)).toBe(true);
      sum += x;
      sumSquares += x * x;
    }
    const std = Math.sqrt(sumSquares / last.length - (sum / last.length) ** 2);
    expect(std).toBeGreaterThan(1);
    expect(std).toBeLessThan(20);
  });

  it('prefill of 40 equals prefill of 30 followed by 10 single-token decode steps', () => {
    const sequence = model.newSequence();
    const prefill = sequence.forward(tokens.slice(0, 30));
    expect(maxAbsDifference(prefill, allAtOnce.subarray(0, 30 * SHAPE.vocabSize))).toBeLessThan(1e-5);
    for (let i = 30; i < 40; i++) {
      const step = sequence.forward([tokens[i]]);
      expect(maxAbsDifference(step, row(allAtOnce, i)), `position ${i}`).toBeLessThan(1e-5);
    }
    expect(sequence.length).toBe(40);
  });

  it('uneven chunks and last-row-only logits give the same numbers', () => {
    const sequence = model.newSequence();
    let at = 0;
    for (const size of [1, 7, 3, 13, 16]) {
      const last = sequence.forward(tokens.slice(at, at + size), 'last');
      at += size;
      expect(last.length).toBe(SHAPE.vocabSize);
      expect(maxAbsDifference(last, row(allAtOnce, at - 1)), `chunk ending at ${at}`).toBeLessThan(1e-5);
    }
  });

  it('is causal: changing a later token leaves every earlier position unchanged', () => {
    const changed = [...tokens];
    changed[25] = (changed[25] + 1) % SHAPE.vocabSize;
    const other = model.newSequence().forward(changed);
    expect(maxAbsDifference(other.subarray(0, 25 * SHAPE.vocabSize), allAtOnce.subarray(0, 25 * SHAPE.vocabSize))).toBe(0);
    // ...and does change the position itself and those after it.
    for (const position of [25, 26, 39]) {
      expect(maxAbsDifference(row(other, position), row(allAtOnce, position))).toBeGreaterThan(1e-3);
    }
  });

  it('rejects tokens outside the vocabulary', () => {
    expect(() => model.newSequence().forward([0, SHAPE.vocabSize])).toThrow('outside the vocabulary of 4096');
    expect(() => model.newSequence().forward([])).toThrow('no tokens');
  });
});

describe('reference forward pass: LM head', () => {
  it('uses lm_head.weight when embeddings are untied (here: the embedding doubled doubles every logit)', () => {
    const untiedShape: Qwen3Shape = { ...SHAPE, tieWordEmbeddings: false };
    const tied = createRandomWeightSource(SHAPE, 11);
    const untied: WeightSource = {
      shape: untiedShape,
      get(name) {
        if (name !== LM_HEAD_WEIGHT) return tied.get(name);
        const embedding = tied.get('model.embed_tokens.weight');
        return { dims: embedding.dims, data: embedding.data.map((x) => 2 * x) };
      },
      close() {},
    };
    const tokens = randomTokens(5, 2, SHAPE.vocabSize);
    const expected = model.newSequence().forward(tokens);
    const doubled = ReferenceModel.load(untied).newSequence().forward(tokens);
    // Scaling by two is exact in binary floating point.
    expect(doubled).toEqual(expected.map((x) => 2 * x));
  });
});

describe('reference building blocks against their definitions', () => {
  it('RMSNorm divides by the root mean square plus eps, then scales per channel', () => {
    const out = rmsNorm(Float32Array.of(3, 4, 0, 0, -1, 1), 2, 3, Float32Array.of(1, 2, 0.5), 0);
    const rms1 = Math.sqrt(25 / 3);
    const rms2 = Math.sqrt(2 / 3);
    expect([...out].map((x) => Number(x.toFixed(6)))).toEqual(
      [3 / rms1, (2 * 4) / rms1, 0, 0, -2 / rms2, 0.5 / rms2].map((x) => Number(Math.fround(x).toFixed(6))),
    );
  });

  it('rotary: position 0 is the identity, dimension i pairs with i + headDim/2, scores depend only on distance', () => {
    const headDim = 8;
    const rotary = new RotaryEmbedding(headDim, 10_000);
    const q = Float32Array.of(0.3, -1, 0.5, 2, 1.5, 0.25, -0.75, 1);
    const k = Float32Array.of(-0.5, 0.4, 1, -1, 0.2, 0.9, -0.3, 0.6);

    const atZero = Float32Array.from(q);
    rotary.applyInPlace(atZero, 1, 1, 0);
    expect(atZero).toEqual(q);

    // Position 1, pair 0 (dims 0 and 4) turns by exactly 1 radian: theta^0 = 1.
    const atOne = Float32Array.from(q);
    rotary.applyInPlace(atOne, 1, 1, 1);
    expect(atOne[0]).toBeCloseTo(q[0] * Math.cos(1) - q[4] * Math.sin(1), 6);
    expect(atOne[4]).toBeCloseTo(q[4] * Math.cos(1) + q[0] * Math.sin(1), 6);
    // Pair 1 (dims 1 and 5) turns by 10000^(-2/8) = 0.1 radian.
    expect(atOne[1]).toBeCloseTo(q[1] * Math.cos(0.1) - q[5] * Math.sin(0.1), 6);

    const score = (qPosition: number, kPosition: number): number => {
      const rq = Float32Array.from(q);
      const rk = Float32Array.from(k);
      rotary.applyInPlace(rq, 1, 1, qPosition);
      rotary.applyInPlace(rk, 1, 1, kPosition);
      return rq.reduce((sum, x, i) => sum + x * rk[i], 0);
    };
    expect(score(17, 5)).toBeCloseTo(score(112, 100), 4);
    expect(score(17, 5)).not.toBeCloseTo(score(17, 6), 2);
  });

  it('attention: heads share kv heads in groups, each query sees only positions up to its own', () => {
    const headDim = 2;
    // Two positions, two kv heads; four query heads, so heads 0-1 read kv head 0, heads 2-3 kv head 1.
    const keys = Float32Array.of(1, 0, 0, 1, /* position 1: */ 0, 1, 1, 0); // [2, 2, 2]
    const values = Float32Array.of(10, 20, 30, 40, /* position 1: */ 50, 60, 70, 80); // [2, 2, 2]
    const query = new Float32Array(2 * 4 * headDim).fill(0); // zero queries: uniform attention
    const out = causalGroupedQueryAttention(query, keys, values, { seqLen: 2, startPosition: 0, heads: 4, kvHeads: 2, headDim });
    // Position 0 sees only itself; position 1 averages both positions.
    expect([...out]).toEqual([10, 20, 10, 20, 30, 40, 30, 40, 30, 40, 30, 40, 50, 60, 50, 60]);

    // A query aligned with one key: softmax over scaled scores q.k / sqrt(headDim).
    const sharp = Float32Array.of(0, 4, 0, 0, 0, 0, 0, 0); // head 0 at position 1 only
    const single = causalGroupedQueryAttention(sharp, keys, values, { seqLen: 1, startPosition: 1, heads: 4, kvHeads: 2, headDim });
    const w1 = 1 / (1 + Math.exp(-4 / Math.sqrt(2))); // weight on position 1 (score 4/sqrt2 vs 0)
    expect(single[0]).toBeCloseTo(10 * (1 - w1) + 50 * w1, 4);
    expect(single[1]).toBeCloseTo(20 * (1 - w1) + 60 * w1, 4);
  });
});
