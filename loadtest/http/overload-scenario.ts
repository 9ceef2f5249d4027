import { syntheticTokenIds } from '../bench/synthetic-tokens.js';
import { runCannon, type CannonResult } from './autocannon-run.js';
import { serverRssBytes } from './metrics-scrape.js';

export interface OverloadOptions {
  url: string;
  /** Concurrent connections, each sending its next request as soon as the previous is answered: far more than the server's queue holds. */
  connections: number;
  /** Total requests (admitted and refused). */
  amount: number;
  maxSeconds: number;
  /** Each request: this many prompt token ids, this many generated tokens (non-streamed completion). */
  promptTokens: number;
  maxTokens: number;
}

export interface OverloadResult {
  options: Omit<OverloadOptions, 'url'>;
  cannon: CannonResult;
  admitted: number;
  refused: number;
  serverErrors: number;
  /** The server's resident memory before, at its highest during, and after the flood. */
  rssBytes: { before: number; max: number; after: number };
}

const MEMORY_SAMPLE_MS = 250;

/**
 * Overload: many more concurrent non-streamed completions than the server admits (running +
 * waiting). What a healthy server does: the excess gets 429 at once with Retry-After, nothing
 * gets a 5xx, admitted requests finish in a time bounded by the queue ahead of them, and memory
 * stays flat because refused requests hold nothing. The server's memory is read from its own
 * /metrics every 250 ms meanwhile (those scrapes also go through the flood).
 */
export async function runOverload(options: OverloadOptions): Promise<OverloadResult> {
  const before = await serverRssBytes(options.url);
  let max = before;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      max = Math.max(max, await serverRssBytes(options.url).catch(() => max));
      await new Promise((r) => setTimeout(r, MEMORY_SAMPLE_MS));
    }
  })();
  let cannon: CannonResult;
  try {
    cannon = await runCannon({
      url: options.url,
      method: 'POST',
      path: '/v1/completions',
      body: { prompt: syntheticTokenIds(options.promptTokens, 31), max_tokens: options.maxTokens, temperature: 0, ignore_eos: true },
      connections: options.connections,
      amount: options.amount,
      maxSeconds: options.maxSeconds,
    });
  } finally {
    sampling = false;
    await sampler;
  }
  const count = (predicate: (status: number) => boolean) =>
    Object.entries(cannon.statuses).reduce((sum, [status, n]) => sum + (predicate(Number(status)) ? n : 0), 0);
  const { url: _url, ...recorded } = options;
  return {
    options: recorded,
    cannon,
    admitted: count((s) => s === 200),
    refused: count((s) => s === 429),
    serverErrors: count((s) => s >= 500),
    rssBytes: { before, max, after: await serverRssBytes(options.url) },
  };
}
