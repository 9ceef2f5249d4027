import { RandomStream } from '../../src/random/random-stream.js';
import type { BenchPrompt } from './datasets.js';
import type { RequestResult } from './serving-metrics.js';

/** How requests are offered to the server. */
export type LoadShape =
  /** Closed loop (vLLM's --max-concurrency with an infinite rate): `concurrency` requests always in flight. */
  | { kind: 'concurrency'; concurrency: number }
  /** Open loop (vLLM's --request-rate): Poisson arrivals at `rate` requests per second, whatever the server's pace. */
  | { kind: 'poisson'; rate: number; seed: number };

export interface LoadRun {
  results: RequestResult[];
  /** First send to last completion, ms: the denominator of every throughput. */
  durationMs: number;
}

export type SendRequest = (prompt: BenchPrompt) => Promise<RequestResult>;

/** Sends every prompt with the given shape and waits for all of them; results in prompt order. */
export function runLoad(prompts: BenchPrompt[], shape: LoadShape, send: SendRequest): Promise<LoadRun> {
  return shape.kind === 'concurrency' ? runClosedLoop(prompts, shape.concurrency, send) : runPoissonArrivals(prompts, shape.rate, shape.seed, send);
}

/** `concurrency` workers, each sending the next unsent prompt as soon as its previous one ends. */
async function runClosedLoop(prompts: BenchPrompt[], concurrency: number, send: SendRequest): Promise<LoadRun> {
  const results: RequestResult[] = new Array(prompts.length);
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < prompts.length) {
      const index = next++;
      results[index] = await send(prompts[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, prompts.length) }, worker));
  return { results, durationMs: performance.now() - started };
}

/**
 * Requests sent at the arrival times of a Poisson process (exponential gaps of mean 1/rate,
 * drawn from a seeded stream so runs are repeatable); each is sent on time even when earlier
 * ones are still running, as real users would.
 */
async function runPoissonArrivals(prompts: BenchPrompt[], rate: number, seed: number, send: SendRequest): Promise<LoadRun> {
  const gaps = poissonGapsMs(prompts.length, rate, seed);
  const started = performance.now();
  let arrival = 0;
  const pending = prompts.map((prompt, i) => {
    arrival += gaps[i];
    const at = arrival;
    return new Promise<RequestResult>((resolve) => {
      setTimeout(() => resolve(send(prompt)), Math.max(0, started + at - performance.now()));
    });
  });
  const results = await Promise.all(pending);
  return { results, durationMs: performance.now() - started };
}

/** Gaps before each arrival, ms; the first request arrives at once, as in vLLM. */
export function poissonGapsMs(count: number, rate: number, seed: number): number[] {
  if (!(rate > 0)) throw new RangeError(`the request rate must be positive, got ${rate}`);
  const random = RandomStream.fromSeed(seed);
  // Inverse transform sampling: -ln(1 - U) / rate is exponential with mean 1/rate.
  return Array.from({ length: count }, (_, i) => (i === 0 ? 0 : (-Math.log(1 - random.nextDouble()) / rate) * 1000));
}
