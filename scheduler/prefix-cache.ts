/**
 * Fewest tokens a cached prefix must share with a request to be reused. Below this the saving is
 * a few positions of one prefill chunk, and every prompt built from the chat template would match
 * every cached row on its first few template tokens. Rows holding fewer tokens are not cached.
 */
export const MIN_PREFIX_TOKENS = 16;

/** A cached prefix that a request can start from: its first `length` tokens are that entry's. */
export interface PrefixMatch {
  readonly entry: number;
  readonly length: number;
}

/**
 * The prefixes left behind in KV rows by finished requests: for each entry, the token ids whose
 * keys and values its row holds at positions [0, tokens.length). Plain bookkeeping over token
 * ids; which rows they live in is the engine's business.
 *
 * An entry is used at most once: the request that matches it takes its row over and overwrites
 * the positions after the match. So entries are never "used" and stay cached, and least recently
 * used is least recently cached: eviction takes the oldest entry (Map iteration order).
 */
export class PrefixCache {
  private readonly entries = new Map<number, readonly number[]>();
  private nextEntry = 0;
  private cachedTokens = 0;

  /** Entries cached, each holding one KV row. */
  get size(): number {
    return this.entries.size;
  }

  /** KV positions held over all entries. */
  get tokens(): number {
    return this.cachedTokens;
  }

  /**
   * Caches a row's computed tokens, keeping the array itself (pass one that nobody changes).
   * Returns the new entry, or undefined when the row is too short ever to be matched.
   */
  add(tokens: readonly number[]): number | undefined {
    if (tokens.length < MIN_PREFIX_TOKENS) return undefined;
    const entry = this.nextEntry++;
    this.entries.set(entry, tokens);
    this.cachedTokens += tokens.length;
    return entry;
  }

  /**
   * Takes out the entry sharing the longest prefix with `tokens`, counting at most `maxLength`
   * tokens, if that prefix is at least MIN_PREFIX_TOKENS long. Between equal matches it takes the
   * entry holding the fewest tokens beyond the match, which loses the least of what is cached.
   */
  take(tokens: readonly number[], maxLength: number): PrefixMatch | undefined {
    let best: { entry: number; length: number; size: number } | undefined;
    for (const [entry, cached] of this.entries) {
      const length = commonPrefixLength(cached, tokens, maxLength);
      if (length < MIN_PREFIX_TOKENS) continue;
      if (best === undefined || length > best.length || (length === best.length && cached.length < best.size)) {
        best = { entry, length, size: cached.length };
      }
    }
    if (best === undefined) return undefined;
    this.remove(best.entry);
    return { entry: best.entry, length: best.length };
  }

  /** Drops the oldest entry and returns it, or undefined when the cache is empty. */
  evictOldest(): number | undefined {
    const oldest = this.entries.keys().next();
    if (oldest.done) return undefined;
    this.remove(oldest.value);
    return oldest.value;
  }

  private remove(entry: number): void {
    this.cachedTokens -= this.entries.get(entry)!.length;
    this.entries.delete(entry);
  }
}

/** How many leading tokens `a` and `b` share, counting at most `limit`. */
function commonPrefixLength(a: readonly number[], b: readonly number[], limit: number): number {
  const end = Math.min(a.length, b.length, limit);
  let i = 0;
  while (i < end && a[i] === b[i]) i++;
  return i;
}
