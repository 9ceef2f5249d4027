import { describe, expect, it } from 'vitest';
import { argmax, compareLogits, klDivergence } from './reference/logit-comparison.js';

describe('logit comparison', () => {
  it('KL divergence matches the closed form for two-token distributions', () => {
    // softmax([0, ln 3]) = [1/4, 3/4]; softmax([0, 0]) = [1/2, 1/2].
    const p = Float32Array.of(0, Math.log(3));
    const q = Float32Array.of(0, 0);
    const expected = 0.25 * Math.log(0.25 / 0.5) + 0.75 * Math.log(0.75 / 0.5);
    expect(klDivergence(p, q)).toBeCloseTo(expected, 6);
    // Adding a constant to every logit changes nothing.
    expect(klDivergence(p, Float32Array.of(5, 5))).toBeCloseTo(expected, 6);
    expect(klDivergence(p, p)).toBe(0);
  });

  it('aggregates per row: top-1 agreement, mean and max KL, max absolute difference', () => {
    const reference = Float32Array.of(1, 2, 3, /* row 1 */ 0, 0, 1);
    const other = Float32Array.of(1, 2, 3.5, /* row 1 */ 0, 2, 1);
    const agreement = compareLogits(reference, other, 3);
    expect(agreement.rows).toBe(2);
    expect(agreement.top1Agreement).toBe(0.5);
    expect(agreement.maxAbsDifference).toBe(2);
    const kl0 = klDivergence(reference.subarray(0, 3), other.subarray(0, 3));
    const kl1 = klDivergence(reference.subarray(3), other.subarray(3));
    expect(agreement.meanKlDivergence).toBeCloseTo((kl0 + kl1) / 2, 12);
    expect(agreement.maxKlDivergence).toBe(Math.max(kl0, kl1));
    expect(argmax(Float32Array.of(1, 7, 7, 2))).toBe(1);
  });
});
