import { invalidParam } from '../../errors.js';

/**
 * OpenAI's `stop` field checked by hand, to OpenAI's limit of four strings. No route calls it at
 * present: the request schemas check `stop` with `stopField` (../schemas/common.ts), which allows
 * up to MAX_STOP_STRINGS there and does not look for lone surrogates. It moved here from the
 * engine's stop matcher, which takes an already checked list and names no request field.
 */

/** OpenAI accepts at most four stop sequences. */
const MAX_STOP_STRINGS = 4;

/** A lone surrogate could match half of an emoji and cut the output inside a character. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Reads the request's `stop` (a string, an array of strings, or null) into a checked list. */
export function parseStopStrings(stop: unknown): string[] {
  if (stop === undefined || stop === null) return [];
  const list = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(list) || !list.every((s): s is string => typeof s === 'string')) {
    throw invalidParam('stop', 'stop must be a string or an array of strings');
  }
  if (list.length > MAX_STOP_STRINGS) {
    throw invalidParam('stop', `stop may hold at most ${MAX_STOP_STRINGS} strings, got ${list.length}`);
  }
  for (const s of list) {
    if (s.length === 0) throw invalidParam('stop', 'stop strings must not be empty');
    if (LONE_SURROGATE.test(s)) throw invalidParam('stop', 'stop strings must be valid Unicode');
  }
  return list;
}
