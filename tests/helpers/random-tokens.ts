/**
 * Deterministic pseudo-random token ids over a whole vocabulary (a linear congruential generator):
 * the same seed gives the same ids on every machine, so logit comparisons that use them are
 * repeatable.
 */
export function randomTokens(count: number, seed: number, vocabSize: number): number[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % vocabSize;
  });
}

/** A deterministic uniform [0, 1) generator (the same linear congruential generator). */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}
