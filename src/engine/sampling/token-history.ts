/**
 * The tokens a request has seen, as the penalties need them: which ids occur in the prompt
 * (repetition penalty) and how often each id occurs in the output (frequency and presence).
 */
export class TokenHistory {
  readonly promptTokens: ReadonlySet<number>;
  private readonly counts = new Map<number, number>();
  private length = 0;

  constructor(promptTokenIds: readonly number[]) {
    this.promptTokens = new Set(promptTokenIds);
  }

  /** Generated tokens so far. */
  get outputLength(): number {
    return this.length;
  }

  /** Ids generated so far with their number of occurrences. */
  get outputCounts(): ReadonlyMap<number, number> {
    return this.counts;
  }

  append(tokenId: number): void {
    this.counts.set(tokenId, (this.counts.get(tokenId) ?? 0) + 1);
    this.length++;
  }
}
