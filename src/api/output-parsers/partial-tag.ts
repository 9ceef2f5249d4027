/**
 * How many characters at the end of `text` could be the start of `tag`: what a streaming parser
 * must hold back, since the next piece may complete the tag.
 */
export function partialTagLength(text: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, text.length); n > 0; n--) {
    if (text.endsWith(tag.slice(0, n))) return n;
  }
  return 0;
}
