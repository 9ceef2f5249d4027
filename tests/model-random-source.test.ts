import { describe, expect, it } from 'vitest';
import { PRESETS } from '../src/convert/shape.js';
import { createRandomWeightSource } from '../src/convert/weights/random-source.js';
import { EMBEDDING_WEIGHT, expectedWeightDims, layerWeightNames } from '../src/convert/weights/weight-source.js';

const tiny = PRESETS.tiny;

function stats(data: Float32Array): { mean: number; std: number } {
  let sum = 0;
  let squares = 0;
  for (const v of data) {
    sum += v;
    squares += v * v;
  }
  const mean = sum / data.length;
  return { mean, std: Math.sqrt(squares / data.length - mean * mean) };
}

describe('createRandomWeightSource', () => {
  it('produces every tensor of the shape with the checkpoint dims', () => {
    const source = createRandomWeightSource(tiny, 7);
    for (const [name, dims] of expectedWeightDims(tiny)) {
      const tensor = source.get(name);
      expect(tensor.dims, name).toEqual(dims);
      expect(tensor.data.length, name).toBe(dims.reduce((a, b) => a * b, 1));
      expect(tensor.data.every(Number.isFinite), name).toBe(true);
    }
    expect(() => source.get('lm_head.weight')).toThrow(/no tensor/);
    source.close();
    expect(() => source.get(EMBEDDING_WEIGHT)).toThrow(/closed/);
  });

  it('depends on the seed and the tensor name only, not on call order or source instance', () => {
    const names = layerWeightNames(1);
    const first = createRandomWeightSource(tiny, 42);
    const up = first.get(names.upProj).data;
    const gate = first.get(names.gateProj).data;
    const second = createRandomWeightSource(tiny, 42);
    expect(second.get(names.gateProj).data).toEqual(gate);
    expect(second.get(names.upProj).data).toEqual(up);
    // Same dims, different names: unrelated values.
    expect(Math.abs(correlation(up, gate))).toBeLessThan(0.01);
    const otherSeed = createRandomWeightSource(tiny, 43).get(names.upProj).data;
    expect(Math.abs(correlation(up, otherSeed))).toBeLessThan(0.01);
  });

  it('scales projections to unit-variance outputs, the embedding to the target logit spread, norms near 1', () => {
    const source = createRandomWeightSource(tiny, 1);
    const names = layerWeightNames(0);
    const down = stats(source.get(names.downProj).data); // fan-in: intermediate
    expect(down.mean).toBeCloseTo(0, 3);
    expect(down.std).toBeCloseTo(1 / Math.sqrt(tiny.intermediateSize), 3);
    const q = stats(source.get(names.qProj).data); // fan-in: hidden
    expect(q.std).toBeCloseTo(1 / Math.sqrt(tiny.hiddenSize), 3);
    const embedding = stats(source.get(EMBEDDING_WEIGHT).data);
    expect(embedding.std * Math.sqrt(tiny.hiddenSize)).toBeCloseTo(4, 2);
    for (const norm of [names.inputNorm, names.qNorm, 'model.norm.weight']) {
      const s = stats(source.get(norm).data);
      expect(Math.abs(s.mean - 1), norm).toBeLessThan(0.05);
      expect(s.std, norm).toBeGreaterThan(0.05);
      expect(s.std, norm).toBeLessThan(0.15);
    }
  });

  it('draws a bell-shaped distribution, not a uniform one', () => {
    const data = createRandomWeightSource(tiny, 3).get(EMBEDDING_WEIGHT).data;
    const { std } = stats(data);
    let within1 = 0;
    let beyond2 = 0;
    for (const v of data) {
      if (Math.abs(v) < std) within1++;
      if (Math.abs(v) > 2 * std) beyond2++;
    }
    // Normal: 68.3% within 1σ, 4.6% beyond 2σ (uniform: 57.7% and 0%).
    expect(within1 / data.length).toBeCloseTo(0.67, 1);
    expect(beyond2 / data.length).toBeGreaterThan(0.03);
  });

  it('rejects seeds outside uint32', () => {
    expect(() => createRandomWeightSource(tiny, -1)).toThrow(RangeError);
    expect(() => createRandomWeightSource(tiny, 2 ** 32)).toThrow(RangeError);
    expect(() => createRandomWeightSource(tiny, 1.5)).toThrow(RangeError);
  });
});

function correlation(a: Float32Array, b: Float32Array): number {
  const sa = stats(a);
  const sb = stats(b);
  let cov = 0;
  for (let i = 0; i < a.length; i++) cov += (a[i] - sa.mean) * (b[i] - sb.mean);
  return cov / a.length / (sa.std * sb.std);
}
