import { describe, expect, it } from 'vitest';
import { MIN_PREFIX_TOKENS, Priority, type SchedulerConfig } from '../scheduler/index.js';
import { PrefixCache } from '../scheduler/prefix-cache.js';
import { FakeEngine, seededRandom } from './scheduler-fake-engine.js';

function expectAllAsGeneratedAlone(engine: FakeEngine): void {
  expect(engine.results.size).toBe(engine.expected.size);
  for (const [id, expected] of engine.expected) {
    expect(engine.results.get(id), id).toMatchObject(expected);
  }
}

/** Runs one request to its end on an otherwise idle engine; returns its whole sequence. */
function finishAlone(engine: FakeEngine, id: string, promptLength: number, maxTokens: number, prompt?: number[]): number[] {
  engine.submit(id, { promptLength, maxTokens, prompt });
  engine.runToIdle();
  return engine.results.get(id)!.tokens;
}

/** `count` tokens no id-derived prompt starts with. */
const newTokens = (count: number, from = 1) => Array.from({ length: count }, (_, i) => from + i);

const retainedIn = (engine: FakeEngine) => engine.outputs.flatMap((output) => output.retained);

describe('prefix caching: retention', () => {
  it("keeps a finished request's row as a cached prefix of its computed tokens", () => {
    const engine = new FakeEngine({ maxSeqs: 2, maxLen: 256 });
    const tokens = finishAlone(engine, 'turn-1', 40, 10);
    expect(tokens).toHaveLength(50);
    // The last sampled token was never fed, so the row holds 49 positions.
    expect(retainedIn(engine)).toEqual([{ id: 'turn-1', entry: expect.any(Number), length: 49 }]);
    expect(engine.runner.cached.get(retainedIn(engine)[0].entry)).toEqual(tokens.slice(0, 49));
    expect(engine.scheduler.stats()).toMatchObject({ numRunning: 0, numCachedPrefixes: 1, kvTokensCached: 49, kvTokensInUse: 0, kvTokensReserved: 0 });
  });

  it('caches nothing for aborted requests, for rows under the minimum, or with prefixCaching off', () => {
    const engine = new FakeEngine({ maxSeqs: 2, maxLen: 256 });
    engine.submit('aborted', { promptLength: 40, maxTokens: 20 });
    engine.step();
    engine.step();
    engine.scheduler.abort('aborted');
    finishAlone(engine, 'short', MIN_PREFIX_TOKENS - 5, 4); // 15 tokens, 14 computed
    expect(retainedIn(engine)).toEqual([]);
    expect(engine.scheduler.stats().numCachedPrefixes).toBe(0);

    const off = new FakeEngine({ maxSeqs: 2, maxLen: 256, prefixCaching: false });
    const tokens = finishAlone(off, 'turn-1', 40, 10);
    finishAlone(off, 'turn-2', 60, 4, [...tokens, ...newTokens(10)]);
    expect(retainedIn(off)).toEqual([]);
    expect(off.outputs.flatMap((output) => output.reused)).toEqual([]);
    expect(off.scheduler.stats()).toMatchObject({ numCachedPrefixes: 0, prefixQueryTokensTotal: 0, prefixHitTokensTotal: 0 });
  });
});

describe('prefix caching: reuse', () => {
  it("a request that extends a finished one takes its row over and computes only the rest, to the same tokens", () => {
    const engine = new FakeEngine({ maxSeqs: 2, maxLen: 256 });
    const history = finishAlone(engine, 'turn-1', 40, 10);
    const entry = retainedIn(engine)[0].entry;
    const prompt = [...history, ...newTokens(12)];
    engine.submit('turn-2', { promptLength: prompt.length, maxTokens: 5, prompt });
    const output = engine.step();
    expect(output.admitted).toEqual(['turn-2']);
    expect(output.reused).toEqual([{ id: 'turn-2', entry, length: 49 }]);
    expect(output.prefill).toEqual([{ id: 'turn-2', start: 49, length: 13, samples: true }]);
    expect(output).toMatchObject({ numPrefixQueryTokens: 62, numPrefixHitTokens: 49 });
    engine.runToIdle();
    expectAllAsGeneratedAlone(engine);
    // turn-1 queried its 40 tokens and found nothing; turn-2 queried 62 and found 49.
    expect(engine.scheduler.stats()).toMatchObject({ prefixQueryTokensTotal: 102, prefixHitTokensTotal: 49, numCachedPrefixes: 1 });
  });

  it('always computes the last token: a prompt the cache holds whole reuses all but one', () => {
    const engine = new FakeEngine({ maxSeqs: 2, maxLen: 256 });
    const history = finishAlone(engine, 'first', 40, 10);
    const prompt = history.slice(0, 30);
    engine.submit('again', { promptLength: 30, maxTokens: 6, prompt });
    const output = engine.step();
    expect(output.reused).toEqual([expect.objectContaining({ id: 'again', length: 29 })]);
    expect(output.prefill).toEqual([{ id: 'again', start: 29, length: 1, samples: true }]);
    engine.runToIdle();
    expectAllAsGeneratedAlone(engine);
  });

  it('takes the longest match, and nothing shorter than the minimum', () => {
    const engine = new FakeEngine({ maxSeqs: 4, maxLen: 256 });
    const shared = newTokens(20, 500);
    // Admitted together, so neither starts from the other's row: both end up cached.
    engine.submit('short-history', { promptLength: 24, maxTokens: 4, prompt: [...shared, ...newTokens(4, 10)] });
    engine.submit('long-history', { promptLength: 40, maxTokens: 4, prompt: [...shared, ...newTokens(20, 30)] });
    engine.runToIdle();
    const long = engine.results.get('long-history')!.tokens;
    const entryOf = (id: string) => retainedIn(engine).find((r) => r.id === id)!.entry;
    engine.submit('follow-up', { promptLength: 50, maxTokens: 3, prompt: [...long.slice(0, 35), ...newTokens(15, 60)] });
    expect(engine.step().reused).toEqual([{ id: 'follow-up', entry: entryOf('long-history'), length: 35 }]);
    // Too little in common with what is left cached: computed from the start, and the short
    // history stays cached.
    engine.submit('stranger', { promptLength: 30, maxTokens: 3, prompt: [...shared.slice(0, MIN_PREFIX_TOKENS - 1), ...newTokens(15, 80)] });
    expect(engine.step().reused).toEqual([]);
    expect(engine.runner.cached.has(entryOf('short-history'))).toBe(true);
    engine.runToIdle();
    expectAllAsGeneratedAlone(engine);
  });
});

describe('prefix caching: eviction', () => {
  it('evicts the oldest cached prefix when an admission needs its row, in the same step', () => {
    const engine = new FakeEngine({ maxSeqs: 2, maxLen: 128 });
    engine.submit('a', { promptLength: 20, maxTokens: 2 });
    engine.submit('b', { promptLength: 20, maxTokens: 2 });
    engine.runToIdle();
    const [a, b] = retainedIn(engine);
    expect([a.id, b.id]).toEqual(['a', 'b']);
    expect(engine.scheduler.stats().numCachedPrefixes).toBe(2);

    // Every row holds a cached prefix: a new request is still admitted at once.
    engine.submit('c', { promptLength: 10, maxTokens: 30 });
    const first = engine.step();
    expect(first.admitted).toEqual(['c']);
    expect(first.evicted).toEqual([a.entry]);
    engine.submit('d', { promptLength: 10, maxTokens: 5 });
    const second = engine.step();
    expect(second.admitted).toEqual(['d']);
    expect(second.evicted).toEqual([b.entry]);
    engine.runToIdle();
    expectAllAsGeneratedAlone(engine);
  });

  it('evicts under KV pressure and never preempts or delays a request for a cached prefix', () => {
    const config: SchedulerConfig = { maxSeqs: 4, maxLen: 128, kvTokenBudget: 100 };
    const engine = new FakeEngine(config);
    finishAlone(engine, 'a', 30, 10); // caches 39 tokens
    finishAlone(engine, 'b', 30, 10); // 78 cached
    const [a, b] = retainedIn(engine);
    // 40 reserved beside 78 cached is over the budget: the oldest goes, the request is admitted.
    engine.submit('c', { promptLength: 40, maxTokens: 25 });
    const admission = engine.step();
    expect(admission.admitted).toEqual(['c']);
    expect(admission.evicted).toEqual([a.entry]);
    // As c grows past 61 tokens, it and b's 39 no longer fit: b goes too.
    let evictedB = false;
    while (engine.scheduler.hasWork()) {
      if (engine.step().evicted.includes(b.entry)) evictedB = true;
    }
    expect(evictedB).toBe(true);
    expect(engine.scheduler.stats()).toMatchObject({ preemptionsTotal: 0, numCachedPrefixes: 1, kvTokensCached: 64 });
    expectAllAsGeneratedAlone(engine);
  });
});

describe('prefix caching: soak', () => {
  it('multi-turn conversations under row and KV pressure, with both kinds of preemption, all end as generated alone', () => {
    const random = seededRandom(11);
    const engine = new FakeEngine({ maxSeqs: 4, maxLen: 400, kvTokenBudget: 450, maxPrefillChunk: 32, maxNumBatchedTokens: 4 + 32 });
    const turns = 5;
    const conversations = Array.from({ length: 7 }, (_, c) => ({ name: `c${c}`, turn: 0, history: [] as number[], pending: undefined as string | undefined }));
    for (let steps = 0; conversations.some((c) => c.turn < turns || c.pending !== undefined); steps++) {
      if (steps > 20_000) throw new Error('the conversations did not finish');
      for (const c of conversations) {
        const finished = c.pending === undefined ? undefined : engine.results.get(c.pending);
        if (finished !== undefined) {
          c.history = finished.tokens;
          c.pending = undefined;
        }
        if (c.pending !== undefined || c.turn >= turns || random() > 0.3) continue;
        const prompt = [...c.history, ...Array.from({ length: 5 + Math.floor(random() * 20) }, () => 1 + Math.floor(random() * 900))];
        c.pending = `${c.name}-t${c.turn++}`;
        const priority = random() < 0.5 ? Priority.batch : Priority.interactive;
        engine.submit(c.pending, { promptLength: prompt.length, maxTokens: 5 + Math.floor(random() * 15), prompt, priority });
      }
      engine.step();
    }
    engine.runToIdle();
    expectAllAsGeneratedAlone(engine);
    const stats = engine.scheduler.stats();
    expect(stats.prefixHitTokensTotal).toBeGreaterThan(0);
    expect(stats.preemptionsTotal).toBeGreaterThan(0);
    expect(stats.priorityPreemptionsTotal).toBeGreaterThan(0);
  });
});

describe('PrefixCache', () => {
  const tokens = (count: number, from = 1) => Array.from({ length: count }, (_, i) => from + i);

  it('between equal matches takes the entry with the fewest tokens beyond them; evicts oldest first', () => {
    const cache = new PrefixCache();
    const long = cache.add(tokens(40))!;
    const exact = cache.add(tokens(20))!;
    const other = cache.add(tokens(30, 100))!;
    expect(cache.add(tokens(MIN_PREFIX_TOKENS - 1))).toBeUndefined();
    expect(cache).toMatchObject({ size: 3, tokens: 90 });
    expect(cache.take([...tokens(20), 999], 20)).toEqual({ entry: exact, length: 20 });
    expect(cache.take([...tokens(20), 999], 20)).toEqual({ entry: long, length: 20 });
    expect(cache.take(tokens(20), 19)).toBeUndefined();
    expect(cache.evictOldest()).toBe(other);
    expect(cache.evictOldest()).toBeUndefined();
    expect(cache).toMatchObject({ size: 0, tokens: 0 });
  });
});
