import type { GrammarMatcher } from '@mlc-ai/web-xgrammar';

/**
 * One sequence's place in its grammar: which tokens may come next (a bitmask over the logits
 * row, bit i of word i >> 5 set when token i is allowed) and, once one is sampled, the step
 * forward. A thin owner of xgrammar's matcher, which lives in WebAssembly memory and must be
 * released with `release()`.
 */
export class TokenConstraint {
  private released = false;

  constructor(private readonly matcher: GrammarMatcher) {}

  /** The allowed next tokens: [ceil(logitsWidth / 32)] words. */
  allowedTokens(): Promise<Int32Array> {
    return this.matcher.getNextTokenBitmask();
  }

  /**
   * Moves past `tokenId`. Only tokens the last mask allowed are ever sampled, so a refusal is a
   * bug (in the mask's use or in xgrammar), not bad input.
   */
  accept(tokenId: number): void {
    if (!this.matcher.acceptToken(tokenId)) throw new Error(`grammar refused token ${tokenId}, which its own mask allowed`);
  }

  /** Frees the matcher; safe to call more than once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.matcher.dispose();
  }
}
