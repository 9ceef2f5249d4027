import { describe, expect, it } from 'vitest';
import { expNegativeScaled, STEPS_PER_UNIT } from '../src/engine/sampling/exp-table.js';
import { nucleusByBuckets, nucleusFromProbe } from '../src/engine/sampling/nucleus.js';
import { RandomStream } from '../src/random/random-stream.js';
import { RawDistribution } from '../src/engine/sampling/raw-logprobs.js';
import { Sampler } from '../src/engine/sampling/sampler.js';
import { parseSamplingParams } from '../src/api/generation/parse-sampling-params.js';
import type { SamplingFields } from '../src/api/schemas/sampling-fields.js';
import { SamplingWorkspace } from '../src/engine/sampling/sampling-workspace.js';

const EOS = [151645, 151643];

function sampler(fields: SamplingFields, vocabSize = 151936, prompt: number[] = []): Sampler {
  return new Sampler({ params: parseSamplingParams(fields, { vocabSize }), promptTokenIds: prompt, eosTokenIds: EOS });
}

/** A trained-model-like row: a normal bulk and a few standout tokens. Deterministic per seed. */
function realisticRow(seed: number, vocab = 151936, spread = 2.5, top = 12): Float32Array {
  const random = RandomStream.fromSeed(seed);
  const row = new Float32Array(vocab);
  for (let i = 0; i < vocab; i++) {
    const u = 1 - random.nextDouble();
    row[i] = spread * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
  }
  for (let j = 0; j < 10; j++) row[Math.floor(random.nextDouble() * vocab)] = top - j * 0.7;
  return row;
}

/** Exact float64 softmax probabilities of softmax(row / T). */
function softmax(row: Float32Array, temperature = 1): Float64Array {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  const p = new Float64Array(row.length);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += p[i] = Math.exp((row[i] - max) / temperature);
  for (let i = 0; i < row.length; i++) p[i] /= sum;
  return p;
}

describe('sampling frequencies with a fixed seed', () => {
  /**
   * No token outside the expected support is drawn; every token of probability >= 1% is drawn
   * within 4.5 standard deviations of it; and a chi-square test over all tokens (pooling those
   * expected fewer than 5 times) passes at 5 standard deviations of its distribution.
   */
  function checkFrequencies(row: Float32Array, fields: SamplingFields, expected: Float64Array, draws: number): void {
    const s = sampler({ seed: 1234, ...fields }, row.length);
    const counts = new Map<number, number>();
    for (let i = 0; i < draws; i++) {
      const { tokenId } = s.sample(row);
      counts.set(tokenId, (counts.get(tokenId) ?? 0) + 1);
    }
    for (const [id, count] of counts) expect(expected[id], `token ${id} cannot be drawn`).toBeGreaterThan(0);
    let chiSquare = 0;
    let cells = 0;
    let pooledExpected = 0;
    let pooledObserved = 0;
    expected.forEach((p, id) => {
      const observed = counts.get(id) ?? 0;
      if (p >= 0.01) {
        const sigma = Math.sqrt((p * (1 - p)) / draws);
        expect(Math.abs(observed / draws - p), `token ${id}, p = ${p}`).toBeLessThan(4.5 * sigma);
      }
      if (p * draws >= 5) {
        chiSquare += (observed - p * draws) ** 2 / (p * draws);
        cells++;
      } else {
        pooledExpected += p * draws;
        pooledObserved += observed;
      }
    });
    if (pooledExpected > 0) {
      chiSquare += (pooledObserved - pooledExpected) ** 2 / pooledExpected;
      cells++;
    }
    const degrees = cells - 1;
    expect(chiSquare).toBeLessThan(degrees + 5 * Math.sqrt(2 * degrees));
  }

  it('matches softmax(logits / T) at T = 0.8', () => {
    const row = realisticRow(1, 2000, 1, 4);
    checkFrequencies(row, { temperature: 0.8 }, softmax(row, 0.8), 20_000);
  });

  it('matches the renormalised nucleus for a flat row (the bucketed top_p path)', () => {
    const row = realisticRow(2, 2000, 0.5, 0);
    const p = softmax(row, 1);
    // Brute force: the smallest most-likely set reaching 0.9, renormalised.
    const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a]);
    const expected = new Float64Array(row.length);
    let mass = 0;
    for (const id of order) {
      if (mass >= 0.9) break;
      mass += expected[id] = p[id];
    }
    expected.forEach((q, id) => (expected[id] = q / mass));
    expect(order.findIndex((id) => expected[id] === 0)).toBeGreaterThan(64); // beyond the probe
    checkFrequencies(row, { temperature: 1, top_p: 0.9 }, expected, 20_000);
  });
});

describe('nucleus selection on a full vocabulary', () => {
  /** Candidates of a whole row with their weights, as temperature sampling collects them. */
  function candidates(row: Float32Array, temperature: number) {
    const ws = new SamplingWorkspace();
    ws.reserve(row.length, 64);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    const scale = STEPS_PER_UNIT / temperature;
    let total = 0;
    let n = 0;
    row.forEach((v, i) => {
      const distance = (max - v) * scale;
      if (distance > 30 * STEPS_PER_UNIT) return;
      ws.ids[n] = i;
      ws.weights[n] = expNegativeScaled(distance);
      ws.buckets[n] = distance;
      total += ws.weights[n++];
    });
    return { ws, n, total };
  }

  function bruteForce(ws: SamplingWorkspace, n: number, need: number): Set<number> {
    const order = Array.from({ length: n }, (_, j) => j).sort((a, b) => ws.weights[b] - ws.weights[a] || ws.ids[a] - ws.ids[b]);
    const kept = new Set<number>();
    let mass = 0;
    for (const j of order) {
      if (mass >= need) break;
      mass += ws.weights[j];
      kept.add(ws.ids[j]);
    }
    return kept;
  }

  for (const [shape, spread, top, temperature] of [
    ['flat', 0.5, 0, 1],
    ['uncertain', 2.5, 10, 0.7],
    ['confident', 2.5, 25, 1],
  ] as const) {
    for (const topP of [0.5, 0.9, 0.99]) {
      it(`${shape} logits, top_p ${topP}: buckets and probe pick the brute-force set`, () => {
        const row = realisticRow(7, 151936, spread, top);
        const { ws, n, total } = candidates(row, temperature);
        const expected = bruteForce(ws, n, topP * total);
        const kept = nucleusByBuckets(ws, n, topP * total);
        expect(new Set(ws.ids.subarray(0, kept))).toEqual(expected);
        expect(ws.keptMass).toBeGreaterThanOrEqual(topP * total * (1 - 1e-12));

        const again = candidates(row, temperature);
        const probeSize = Math.min(again.n, 4096);
        const byWeight = Array.from({ length: again.n }, (_, j) => j).sort((a, b) => again.ws.weights[b] - again.ws.weights[a]);
        byWeight.slice(0, probeSize).forEach((j, i) => (again.ws.probe[i] = j));
        const fromProbe = nucleusFromProbe(again.ws, probeSize, topP * again.total);
        if (expected.size <= probeSize) {
          expect(new Set(Array.from(again.ws.probe.subarray(0, fromProbe), (j) => again.ws.ids[j]))).toEqual(expected);
        } else {
          expect(fromProbe).toBe(-1);
        }
      });
    }
  }
});

describe('reproducibility', () => {
  const rows = Array.from({ length: 40 }, (_, i) => realisticRow(100 + i, 5000, 1, 3));
  const run = (s: Sampler) => rows.map((row) => s.sample(row).tokenId);

  it('gives the same tokens for the same seed and different ones for another', () => {
    const fields = { temperature: 1, top_p: 0.95 };
    const a = run(sampler({ ...fields, seed: 7 }, 5000));
    expect(run(sampler({ ...fields, seed: 7 }, 5000))).toEqual(a);
    expect(run(sampler({ ...fields, seed: 8 }, 5000))).not.toEqual(a);
  });

  it('does not depend on the other requests sampled in between (batch composition)', () => {
    const fields = { temperature: 0.9, top_k: 50, seed: 99 };
    const alone = run(sampler(fields, 5000));
    const mine = sampler(fields, 5000);
    const others = [sampler({ temperature: 0 }, 5000), sampler({ temperature: 1.5, seed: 1, logprobs: true, top_logprobs: 20 }, 5000), sampler({ top_p: 0.5 }, 5000)];
    const interleaved = rows.map((row, i) => {
      for (const other of others.slice(0, i % 4)) other.sample(rows[(i * 7) % rows.length]);
      return mine.sample(row).tokenId;
    });
    expect(interleaved).toEqual(alone);
  });

  it('asking for logprobs does not change the tokens', () => {
    const fields = { temperature: 1, seed: 3 };
    expect(run(sampler({ ...fields, logprobs: true, top_logprobs: 5 }, 5000))).toEqual(run(sampler(fields, 5000)));
  });
});

describe('logprobs of the raw model distribution', () => {
  it('are true log-probabilities: all of them exponentiate and add up to 1', () => {
    const row = Float32Array.from([2, -1, 0.5, 3, 3, -20, 0, 1, 1.5, -3]);
    // Temperature and bias shape the sampling but not the reported (raw) distribution.
    const s = sampler({ temperature: 0.3, logit_bias: { '0': 50 }, seed: 5, logprobs: true, top_logprobs: 10 }, 10);
    const { tokenId, logprobs } = s.sample(row);
    expect(tokenId).toBe(0);
    const p = softmax(row);
    expect(logprobs!.top.map((t) => t.tokenId)).toEqual([3, 4, 0, 8, 7, 2, 6, 1, 9, 5]);
    for (const { tokenId: id, logprob } of logprobs!.top) expect(logprob).toBeCloseTo(Math.log(p[id]), 10);
    const total = logprobs!.top.reduce((sum, t) => sum + Math.exp(t.logprob), 0);
    expect(total).toBeCloseTo(1, 12);
    expect(logprobs!.logprob).toBeCloseTo(Math.log(p[0]), 10);
  });

  it('match an exact log-softmax over the full vocabulary', () => {
    const row = realisticRow(11);
    const p = softmax(row);
    const { tokenId, logprobs } = sampler({ temperature: 0, logprobs: true, top_logprobs: 20 }).sample(row);
    expect(logprobs!.top).toHaveLength(20);
    expect(logprobs!.top[0].tokenId).toBe(tokenId); // greedy picks the raw top token
    const reference = Array.from(p.keys()).sort((a, b) => p[b] - p[a]).slice(0, 20);
    expect(logprobs!.top.map((t) => t.tokenId)).toEqual(reference);
    for (const { tokenId: id, logprob } of logprobs!.top) expect(Math.abs(logprob - Math.log(p[id]))).toBeLessThan(1e-7);
    // logsumexp of every logprob is 0: the normaliser matches the exact one.
    const ws = new SamplingWorkspace();
    const raw = RawDistribution.of(row, 0, ws);
    let sum = 0;
    for (let i = 0; i < row.length; i++) sum += Math.exp(raw.logprobOf(row, i));
    expect(Math.abs(Math.log(sum))).toBeLessThan(1e-7);
  });

  it('break ties towards the lower token id, also when a larger logit arrives later', () => {
    const top = (values: number[], n: number) =>
      sampler({ temperature: 0, logprobs: true, top_logprobs: n }, values.length)
        .sample(Float32Array.from(values))
        .logprobs!.top.map((t) => t.tokenId);
    expect(top([0, 0, 0, 0, 0, 0], 3)).toEqual([0, 1, 2]);
    expect(top([0, 0, 0, 0, 5, 0, 0, 7], 3)).toEqual([7, 4, 0]);
    expect(top([1, 0, 2, 0, 2, 1, 0], 4)).toEqual([2, 4, 0, 5]);
  });

  it('are absent unless asked for', () => {
    expect(sampler({}, 10).sample(realisticRow(3, 10)).logprobs).toBeNull();
  });
});

describe('request bookkeeping', () => {
  it('counts tokens and knows which ones stop the output', () => {
    const s = sampler({ stop_token_ids: [42] });
    expect(s.isStopToken(151645)).toBe(true);
    expect(s.isStopToken(151643)).toBe(true);
    expect(s.isStopToken(42)).toBe(true);
    expect(s.isStopToken(7)).toBe(false);
    s.sample(realisticRow(4));
    s.sample(realisticRow(5));
    expect(s.generatedCount).toBe(2);
    const ignoring = sampler({ ignore_eos: true, stop_token_ids: [42] });
    expect(ignoring.isStopToken(151645)).toBe(false);
    expect(ignoring.isStopToken(42)).toBe(true);
  });

  it('holds end-of-sequence back until min_tokens, on the full vocabulary', () => {
    const row = realisticRow(6);
    row[151645] = 100;
    const s = sampler({ temperature: 0.7, min_tokens: 3, seed: 1 });
    const tokens = Array.from({ length: 4 }, () => s.sample(row).tokenId);
    expect(tokens.slice(0, 3)).not.toContain(151645);
    expect(tokens[3]).toBe(151645);
  });

  it('refuses a row with nothing to sample', () => {
    expect(() => sampler({}, 3).sample(Float32Array.from([-Infinity, Number.NaN, -Infinity]))).toThrow(/Infinity or NaN/);
  });
});
