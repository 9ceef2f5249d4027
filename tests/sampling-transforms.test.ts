import { describe, expect, it } from 'vitest';
import { chooseToken, type TokenChoiceContext } from '../src/engine/sampling/choose-token.js';
import { LogitEdits } from '../src/engine/sampling/logit-edits.js';
import { parseSamplingParams } from '../src/api/generation/parse-sampling-params.js';
import type { SamplingFields } from '../src/api/schemas/sampling-fields.js';
import { SamplingWorkspace } from '../src/engine/sampling/sampling-workspace.js';
import { TokenHistory } from '../src/engine/sampling/token-history.js';

/**
 * Each transform checked against its definition on small hand-made logits. A token's probability
 * under the sampler is the measure of the draws in [0, 1) that pick it; sweeping the draw over a
 * fine grid measures it exactly up to the grid step, without any randomness.
 */

const GRID = 100_000;
const EOS = 3;

function context(fields: SamplingFields, opts: { prompt?: number[]; output?: number[] } = {}): TokenChoiceContext {
  const history = new TokenHistory(opts.prompt ?? []);
  for (const id of opts.output ?? []) history.append(id);
  const params = parseSamplingParams(fields, { vocabSize: 1000 });
  return {
    params,
    history,
    stopTokens: new Set([...(params.ignoreEos ? [] : [EOS]), ...params.stopTokenIds]),
    edits: new LogitEdits(),
    workspace: new SamplingWorkspace(),
  };
}

function distribution(logits: number[], ctx: TokenChoiceContext, grid = GRID): number[] {
  const row = Float32Array.from(logits);
  const before = Float32Array.from(row);
  const counts = new Array<number>(row.length).fill(0);
  for (let k = 0; k < grid; k++) counts[chooseToken(row, ctx, (k + 0.5) / grid)]++;
  // The caller's logits come back untouched.
  expect(row).toEqual(before);
  return counts.map((c) => c / grid);
}

function softmax(logits: number[], temperature = 1): number[] {
  const row = Float32Array.from(logits); // the sampler sees float32 logits
  const max = Math.max(...row);
  const w = Array.from(row, (v) => Math.exp((v - max) / temperature));
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / sum);
}

/** Each measured probability is within a couple of grid steps of exact; zeros are exact. */
function expectDistribution(actual: number[], expected: number[], grid = GRID): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((p, i) => {
    const message = `token ${i}: ${p} vs ${expected[i]}`;
    if (expected[i] === 0) expect(p, message).toBe(0);
    else expect(Math.abs(p - expected[i]), message).toBeLessThan(3 / grid);
  });
}

/** Logits whose softmax is exactly [0.5, 0.3, 0.15, 0.05]. */
const FOUR = [Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)];

describe('temperature', () => {
  it('samples softmax(logits / T)', () => {
    const logits = [1, 2, 3, 0, -1];
    expectDistribution(distribution(logits, context({ temperature: 1 })), softmax(logits));
    expectDistribution(distribution(logits, context({ temperature: 0.5 })), softmax(logits, 0.5));
    expectDistribution(distribution(logits, context({ temperature: 2 })), softmax(logits, 2));
  });

  it('is greedy at 0: the first largest logit, whatever the draw', () => {
    expect(distribution([1, 5, 5, 2], context({ temperature: 0 }))).toEqual([0, 1, 0, 0]);
  });
});

describe('candidates', () => {
  const logits = [1, 2, 3, 0, -1];
  const expected = softmax(logits, 0.8);

  it('leave out tokens far below the top', () => {
    const padded = [...logits, ...new Array<number>(200).fill(-1000)];
    const p = distribution(padded, context({ temperature: 0.8 }));
    expectDistribution(p.slice(0, 5), expected);
    expect(p.slice(5).every((q) => q === 0)).toBe(true);
  });

  it('never include -Infinity or NaN logits', () => {
    const p = distribution([...logits, -Infinity, Number.NaN], context({ temperature: 0.8 }));
    expectDistribution(p, [...expected, 0, 0]);
    const nucleus = distribution([...logits, -Infinity, Number.NaN], context({ temperature: 0.8, top_p: 0.99 }));
    expect(nucleus.slice(5)).toEqual([0, 0]);
  });
});

describe('top_k', () => {
  it('keeps the k most likely and renormalises', () => {
    expectDistribution(distribution(FOUR, context({ top_k: 2 })), [0.5 / 0.8, 0.3 / 0.8, 0, 0]);
  });

  it('keeps every token tied with the k-th', () => {
    const logits = [3, 2, 2, 1];
    const p = softmax([3, 2, 2]);
    expectDistribution(distribution(logits, context({ top_k: 2 })), [...p, 0]);
  });

  it('is off at -1 or 0', () => {
    expectDistribution(distribution(FOUR, context({ top_k: -1 })), [0.5, 0.3, 0.15, 0.05]);
    expectDistribution(distribution(FOUR, context({ top_k: 0 })), [0.5, 0.3, 0.15, 0.05]);
  });
});

describe('top_p', () => {
  it('keeps the smallest most-likely set reaching p', () => {
    expectDistribution(distribution(FOUR, context({ top_p: 0.75 })), [0.5 / 0.8, 0.3 / 0.8, 0, 0]);
    expectDistribution(distribution(FOUR, context({ top_p: 0.85 })), [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0]);
    expectDistribution(distribution(FOUR, context({ top_p: 0.4 })), [1, 0, 0, 0]);
  });

  it('measures p after temperature', () => {
    // At T = 0.5 the probabilities are [25, 9, 2.25, 0.25] / 36.5: 0.685 + 0.247 reaches 0.9.
    const p = softmax(FOUR, 0.5);
    expectDistribution(distribution(FOUR, context({ temperature: 0.5, top_p: 0.9 })), [
      p[0] / (p[0] + p[1]),
      p[1] / (p[0] + p[1]),
      0,
      0,
    ]);
  });
});

describe('min_p', () => {
  it('drops tokens below min_p times the top probability', () => {
    // 0.25 * 0.5 = 0.125: token 3 (0.05) goes, token 2 (0.15) stays.
    expectDistribution(distribution(FOUR, context({ min_p: 0.25 })), [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0]);
  });
});

describe('combined, in vLLM order: min_p, then top_k, then top_p on what is left', () => {
  it('applies top_p to the distribution renormalised after top_k', () => {
    const logits = [...FOUR, Math.log(0.5)]; // tokens 0 and 4 tie at the top
    // top_k 3 keeps {0, 4, 1} = [0.5, 0.5, 0.3] / 1.3; top_p 0.7 needs 0.5/1.3 + 0.5/1.3 = 0.77.
    expectDistribution(distribution(logits, context({ top_k: 3, top_p: 0.7 })), [0.5, 0, 0, 0, 0.5]);
  });
});

describe('top_k and top_p over many candidates (the bucketed nucleus path)', () => {
  it('matches sorting: k most likely, then the smallest set reaching p, renormalised', () => {
    // A deterministic, tie-free spread of 1200 logits; top_k 1100 is beyond the probe's 1024.
    const logits = Array.from({ length: 1200 }, (_, i) => Math.sin(i * 12.9898) * 2);
    const row = Float32Array.from(logits);
    const order = Array.from(row.keys()).sort((a, b) => row[b] - row[a]).slice(0, 1100);
    const weights = order.map((id) => Math.exp(row[id] - row[order[0]]));
    const total = weights.reduce((a, b) => a + b, 0);
    const expected = new Array<number>(row.length).fill(0);
    let mass = 0;
    for (let i = 0; i < order.length && mass < 0.9 * total; i++) mass += expected[order[i]] = weights[i];
    const grid = 20_000;
    expectDistribution(
      distribution(logits, context({ top_k: 1100, top_p: 0.9 }), grid),
      expected.map((w) => w / mass),
      grid,
    );
  });
});

describe('penalties and bias', () => {
  /** The logits as the sampling stage sees them, read between apply and undo. */
  function edited(logits: number[], ctx: TokenChoiceContext): number[] {
    const row = Float32Array.from(logits);
    const banned = ctx.history.outputLength < ctx.params.minTokens ? ctx.stopTokens : new Set<number>();
    ctx.edits.apply(row, ctx.params, ctx.history, banned, ctx.workspace);
    const seen = Array.from(row);
    ctx.edits.undo(row);
    expect(Array.from(row)).toEqual(Array.from(Float32Array.from(logits)));
    return seen;
  }

  it('repetition_penalty divides positive and multiplies negative logits of prompt and output tokens', () => {
    const ctx = context({ repetition_penalty: 2 }, { prompt: [0, 1], output: [4, 4] });
    expect(edited([2, -1, 0.5, 1, 3], ctx)).toEqual([1, -2, 0.5, 1, 1.5]);
  });

  it('frequency and presence penalties count generated tokens only (OpenAI)', () => {
    const ctx = context({ frequency_penalty: 0.5, presence_penalty: 1 }, { prompt: [0], output: [2, 2, 1] });
    expect(edited([2, 1, 0.5, 1], ctx)).toEqual([2, 1 - 1.5, 0.5 - 2, 1]);
  });

  it('negative presence and frequency penalties encourage repeats', () => {
    const ctx = context({ frequency_penalty: -1, presence_penalty: -0.5 }, { output: [1] });
    expect(edited([0, 0], ctx)).toEqual([0, 1.5]);
  });

  it('logit_bias adds to the logit before penalties', () => {
    const ctx = context({ logit_bias: { '0': 2, '2': -100 }, repetition_penalty: 2 }, { output: [0, 2] });
    // Token 0: (1 + 2) / 2; token 2: (0 - 100) * 2.
    expect(edited([1, 1, 0], ctx)).toEqual([1.5, 1, -200]);
    expect(distribution([1, 1, 0], context({ logit_bias: { '2': 100 } }))[2]).toBeGreaterThan(0.99999);
    expect(distribution([1, 1, 0], context({ logit_bias: { '1': -100 } }))[1]).toBe(0);
  });

  it('min_tokens bans end-of-sequence and stop ids until reached', () => {
    const logits = [0, 0, 0, 5, 0];
    const early = context({ min_tokens: 2, stop_token_ids: [4] }, { output: [0] });
    expect(distribution(logits, early)).toEqual([1 / 3, 1 / 3, 1 / 3, 0, 0].map((p) => expect.closeTo(p, 4)));
    const reached = context({ min_tokens: 2, stop_token_ids: [4] }, { output: [0, 1] });
    expectDistribution(distribution(logits, reached), softmax(logits));
    // Greedy would pick end-of-sequence (logit 5): banned, it picks the first other best.
    expect(distribution(logits, context({ temperature: 0, min_tokens: 1 }))).toEqual([1, 0, 0, 0, 0]);
  });

  it('ignore_eos leaves end-of-sequence sampleable: it just does not stop the output', () => {
    const ctx = context({ temperature: 0, ignore_eos: true, min_tokens: 5 });
    expect(distribution([0, 0, 0, 5], ctx)).toEqual([0, 0, 0, 1]);
    expect(ctx.stopTokens.has(EOS)).toBe(false);
  });

  it('penalties and bias also steer greedy decoding', () => {
    const ctx = context({ temperature: 0, presence_penalty: 2 }, { output: [0] });
    expect(distribution([2, 1], ctx)).toEqual([0, 1]);
  });
});
