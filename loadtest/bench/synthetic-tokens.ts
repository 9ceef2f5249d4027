/** Qwen3's first special token (<|endoftext|>): ids below it are ordinary text tokens. */
const FIRST_SPECIAL_TOKEN = 151643;

/**
 * `count` token ids drawn from a fixed 32-bit LCG stream: the same prompt on every run and
 * machine, ordinary tokens only (below Qwen3's special tokens and below `vocabSize`), different
 * streams for different `stream` numbers.
 */
export function syntheticTokenIds(count: number, stream: number, vocabSize = FIRST_SPECIAL_TOKEN): number[] {
  const limit = Math.min(vocabSize, FIRST_SPECIAL_TOKEN);
  let state = (0x9e3779b9 ^ Math.imul(stream + 1, 0x85ebca6b)) >>> 0;
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    // Numerical Recipes' LCG; the high bits are the well-mixed ones.
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    ids.push(Math.floor((state / 2 ** 32) * limit));
  }
  return ids;
}
