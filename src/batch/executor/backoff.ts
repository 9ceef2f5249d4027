/** First wait after a refusal, and the longest: the engine frees rows within seconds. */
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 30_000;

/**
 * How long the executor holds off after the server refused a line for being busy (429) or not
 * ready (503): the server's Retry-After when it sent one, else doubling from 250 ms up to 30 s.
 * A line that gets an answer resets it.
 */
export class Backoff {
  private failures = 0;

  next(retryAfterMs: number | null): number {
    const doubling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.failures);
    this.failures += 1;
    return retryAfterMs === null ? doubling : Math.min(MAX_DELAY_MS, Math.max(retryAfterMs, FIRST_DELAY_MS));
  }

  reset(): void {
    this.failures = 0;
  }
}
