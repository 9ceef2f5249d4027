import { describe, expect, it } from 'vitest';
import { expNegative, NEGLIGIBLE_LOG_RATIO } from '../src/engine/sampling/exp-table.js';
import { RandomStream } from '../src/random/random-stream.js';
import { argmax, largestLogits, logSumExp, maxAndKthLargest, maxLogit } from '../src/engine/sampling/row-scan.js';

/** Rows with ties, -Infinity and NaN mixed in, from a fixed seed. */
function rows(): Float32Array[] {
  const random = RandomStream.fromSeed(31);
  return Array.from({ length: 200 }, () => {
    const row = new Float32Array(1 + Math.floor(random.nextDouble() * 300));
    for (let i = 0; i < row.length; i++) {
      const u = random.nextDouble();
      row[i] = u < 0.05 ? Number.NaN : u < 0.1 ? -Infinity : Math.round(random.nextDouble() * 40) / 4 - 5;
    }
    return row;
  });
}

describe('row scans against brute force', () => {
  it('argmax, max, k-th largest and the top ids agree with sorting', () => {
    for (const row of rows()) {
      const numbers = Array.from(row.keys()).filter((i) => !Number.isNaN(row[i]));
      const sorted = [...numbers].sort((a, b) => row[b] - row[a] || a - b);
      const finiteMax = sorted.length > 0 && row[sorted[0]] > -Infinity;
      expect(argmax(row)).toBe(finiteMax ? sorted[0] : -1);
      expect(maxLogit(row)).toBe(sorted.length > 0 ? row[sorted[0]] : -Infinity);
      for (const k of [1, 2, 5, 20]) {
        const { max, kth } = maxAndKthLargest(row, k, new Float32Array(k));
        expect(max).toBe(sorted.length > 0 ? row[sorted[0]] : -Infinity);
        expect(kth).toBe(sorted.length >= k ? row[sorted[k - 1]] : -Infinity);
        const top = largestLogits(row, k, new Float32Array(k), new Int32Array(k));
        expect(top.ids).toEqual(sorted.slice(0, k));
      }
    }
  });

  it('logSumExp matches the exact sum', () => {
    const random = RandomStream.fromSeed(5);
    const row = Float32Array.from({ length: 151936 }, () => 6 * random.nextDouble() - 3);
    const max = maxLogit(row);
    let exact = 0;
    for (const v of row) exact += Math.exp(v - max);
    expect(logSumExp(row, max)).toBeCloseTo(max + Math.log(exact), 9);
  });

  it('the exp table is accurate to 1e-11 over its whole range', () => {
    for (let d = 0; d <= NEGLIGIBLE_LOG_RATIO; d += 0.0013) {
      expect(Math.abs(expNegative(d) / Math.exp(-d) - 1)).toBeLessThan(1e-11);
    }
  });
});
