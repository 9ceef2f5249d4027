import { describe, expect, it } from 'vitest';
import { ServeError } from '../src/errors.js';
import { parseStopStrings } from '../src/api/validation/parse-stop-strings.js';
import { StopStringMatcher, type StopMatchResult } from '../src/engine/stop-matcher.js';

/** Streams pieces through a matcher the way the engine does; returns what a client would see. */
function run(stops: string[], pieces: string[]): { emitted: string[]; stop: string | null; final: string } {
  const matcher = new StopStringMatcher(stops);
  const emitted: string[] = [];
  let result: StopMatchResult | null = null;
  for (const piece of pieces) {
    result = matcher.push(piece);
    emitted.push(result.text);
    if (result.stopped) break;
  }
  if (!result?.stopped) emitted.push(matcher.flush());
  expect(emitted.join('')).toBe(matcher.emitted);
  return { emitted, stop: matcher.stop, final: matcher.emitted };
}

/** What the output must be: cut where the first-completing stop begins (longest on a tie). */
function reference(stops: string[], text: string): { final: string; stop: string | null } {
  let best: { start: number; end: number; stop: string } | null = null;
  for (const stop of stops) {
    const start = text.indexOf(stop);
    if (start < 0) continue;
    const end = start + stop.length;
    if (best === null || end < best.end || (end === best.end && start < best.start)) best = { start, end, stop };
  }
  return best === null ? { final: text, stop: null } : { final: text.slice(0, best.start), stop: best.stop };
}

/** Deterministic pseudo-random numbers for the property test (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('stop strings across token boundaries', () => {
  it('passes text straight through without stop strings', () => {
    expect(run([], ['a', 'b'])).toEqual({ emitted: ['a', 'b', ''], stop: null, final: 'ab' });
  });

  it('holds a possible start and drops the stop string itself', () => {
    expect(run(['\n\n'], ['Hello', '\n', '\nWorld'])).toEqual({ emitted: ['Hello', '', ''], stop: '\n\n', final: 'Hello' });
  });

  it('matches a stop string split over many one-character tokens', () => {
    const text = 'the answer is 42 END_OF_ANSWER and more';
    const { emitted, stop, final } = run(['END_OF_ANSWER'], [...text]);
    expect(stop).toBe('END_OF_ANSWER');
    expect(final).toBe('the answer is 42 ');
    // The 'E', 'N', 'D', ... tokens were held, never shown and then taken back.
    expect(emitted.slice(17).every((piece) => piece === '')).toBe(true);
  });

  it('releases held text once it stops matching', () => {
    expect(run(['abc'], ['xa', 'b', 'd'])).toEqual({ emitted: ['x', '', 'abd', ''], stop: null, final: 'xabd' });
  });

  it('releases a held partial match when generation ends for another reason', () => {
    expect(run(['abc'], ['xab'])).toEqual({ emitted: ['x', 'ab'], stop: null, final: 'xab' });
  });

  it('stops at the very start of the output', () => {
    expect(run(['Hello'], ['Hel', 'lo world'])).toEqual({ emitted: ['', ''], stop: 'Hello', final: '' });
    expect(run(['<'], ['<tag>'])).toEqual({ emitted: [''], stop: '<', final: '' });
  });

  it('finds a stop that overlaps its own false start', () => {
    expect(run(['aab'], ['a', 'a', 'a', 'b', 'c']).final).toBe('a');
    expect(run(['abab'], ['ababab']).final).toBe('');
    expect(run(['abac'], ['aba', 'bac']).final).toBe('ab');
  });

  it('with overlapping candidates, takes the stop that completes first', () => {
    expect(run(['abcd', 'bcx'], [...'zabcx'])).toMatchObject({ stop: 'bcx', final: 'za' });
    expect(run(['abcdef', 'cd'], ['abcdef'])).toMatchObject({ stop: 'cd', final: 'ab' });
    // Both end on the same character: the longer one, which starts earlier, wins.
    expect(run(['bc', 'abc'], ['xa', 'bc'])).toMatchObject({ stop: 'abc', final: 'x' });
  });

  it('matches unicode stops without ever cutting a character in half', () => {
    expect(run(['世界'], ['你好世', '界！'])).toMatchObject({ stop: '世界', final: '你好' });
    expect(run(['🛑'], ['go ', '🛑', ' no'])).toMatchObject({ stop: '🛑', final: 'go ' });
    const family = run(['👨‍👩‍👧'], ['we are ', '👨', '‍👩', '‍👦', ' not that']);
    expect(family.stop).toBeNull();
    expect(family.final).toBe('we are 👨‍👩‍👦 not that');
    const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    for (const piece of family.emitted) expect(piece).not.toMatch(lone);
  });

  it('gives the same output however the text is cut into pieces', () => {
    const random = rng(7);
    const alphabet = 'ab\n世🙂';
    const pick = (n: number) => Array.from({ length: n }, () => [...alphabet][Math.floor(random() * 5)]).join('');
    for (let trial = 0; trial < 400; trial++) {
      const stops = Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(1 + Math.floor(random() * 4)));
      const text = pick(5 + Math.floor(random() * 30));
      const chars = [...text];
      const pieces: string[] = [];
      for (let i = 0; i < chars.length; ) {
        const n = 1 + Math.floor(random() * 4);
        pieces.push(chars.slice(i, i + n).join(''));
        i += n;
      }
      const expected = reference(stops, text);
      const got = run(stops, pieces);
      expect({ final: got.final, stop: got.stop }, `${JSON.stringify(stops)} in ${JSON.stringify(pieces)}`).toEqual(
        expected,
      );
    }
  });

  it('refuses text after the stop', () => {
    const matcher = new StopStringMatcher(['x']);
    expect(matcher.push('ax').stopped).toBe(true);
    expect(() => matcher.push('more')).toThrow();
  });
});

describe('parseStopStrings', () => {
  it('accepts a string, an array or nothing', () => {
    expect(parseStopStrings('\n')).toEqual(['\n']);
    expect(parseStopStrings(['a', 'b'])).toEqual(['a', 'b']);
    expect(parseStopStrings(null)).toEqual([]);
    expect(parseStopStrings(undefined)).toEqual([]);
  });

  it.each([
    [['a', 'b', 'c', 'd', 'e'], 'at most 4'],
    [[''], 'empty'],
    ['\uD83D', 'valid Unicode'],
    [[1], 'string'],
    [{ stop: 'x' }, 'string'],
  ])('rejects %j with a 400 naming stop', (value, message) => {
    let error: unknown;
    try {
      parseStopStrings(value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ServeError);
    expect((error as ServeError).param).toBe('stop');
    expect((error as ServeError).status).toBe(400);
    expect((error as ServeError).message).toContain(message);
  });
});
