import type { BaselineResult } from '../bench/transformers-baseline.js';

/**
 * What @huggingface/transformers' generate() would give as a server: it has no batching, so a
 * server built on it runs one request at a time. From its measured requests (each run alone:
 * time to first token F and whole time W, averaged) this works out the figures of a closed-loop
 * load of `requests` requests from `concurrency` clients, all arriving at once, served first
 * come first served: request k (0-based) starts after the k before it, so its TTFT is k*W + F
 * while it waits in a queue of the ones ahead; with fewer clients than requests, a client's next
 * request arrives when its previous one ends, which a FIFO single server serves in the same order.
 */
export interface SequentialEstimate {
  concurrency: number;
  requests: number;
  /** Generated tokens per second: requests are back to back, so tokens / W whatever the concurrency. */
  outputThroughput: number;
  meanTtftMs: number;
  /** The longest TTFT: the last request's, after every one before it. */
  maxTtftMs: number;
  meanE2eMs: number;
}

/** Mean time to first token and whole time of the baseline's measured requests, ms. */
export function baselineRequestTimes(result: BaselineResult): { ttftMs: number; wallMs: number; newTokens: number } {
  const runs = result.runs;
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return {
    // generate() runs prefill then every decode step; its first token comes after the prefill,
    // which is the whole time less the span from first to last token.
    ttftMs: mean(runs.map((r) => r.wallMs - r.decodeMs)),
    wallMs: mean(runs.map((r) => r.wallMs)),
    newTokens: mean(runs.map((r) => r.newTokens)),
  };
}

export function estimateSequentialServing(result: BaselineResult, concurrency: number, requests: number): SequentialEstimate {
  const { ttftMs, wallMs, newTokens } = baselineRequestTimes(result);
  const ttfts: number[] = [];
  const e2es: number[] = [];
  // Closed loop over one FIFO server: every client sends at 0; request k is served k-th, in
  // [k*W, (k+1)*W], and was sent when its client's previous request ended: at (k - c)*W + W for
  // k >= c, else at 0.
  for (let k = 0; k < requests; k++) {
    const sentAt = k < concurrency ? 0 : (k - concurrency + 1) * wallMs;
    ttfts.push(k * wallMs + ttftMs - sentAt);
    e2es.push((k + 1) * wallMs - sentAt);
  }
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return {
    concurrency,
    requests,
    outputThroughput: (newTokens * 1000) / wallMs,
    meanTtftMs: mean(ttfts),
    maxTtftMs: Math.max(...ttfts),
    meanE2eMs: mean(e2es),
  };
}
