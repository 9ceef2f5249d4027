import { runCannon, type CannonResult } from './autocannon-run.js';
import { startBackgroundGeneration } from './background-generation.js';

/** The cheap endpoints a load balancer, a client and Prometheus poll. */
export const CHEAP_PATHS = ['/health', '/v1/models', '/metrics'] as const;

export interface CheapRequestsOptions {
  url: string;
  connections: number;
  /** Requests per path and phase. */
  amount: number;
  maxSeconds: number;
  /** The generation kept running during the busy phase. */
  generation: { streams: number; promptTokens: number; maxTokens: number };
}

export interface CheapRequestsResult {
  options: Omit<CheapRequestsOptions, 'url'>;
  /** Per path: the server idle, then the same while `streams` generations run. */
  paths: { path: string; idle: CannonResult; busy: CannonResult }[];
  /** What the generation streams did meanwhile (proof that the engine was busy). */
  generation: { completed: number; failed: number; outputTokens: number };
}

/**
 * The event loop stays responsive while generating: the engine's forward passes run in a worker
 * thread, so /health, /v1/models and /metrics should answer in milliseconds even while every row
 * decodes. Each path is hit by autocannon twice, idle and busy, and the latencies compared.
 */
export async function runCheapRequests(options: CheapRequestsOptions): Promise<CheapRequestsResult> {
  const hit = (path: string) => runCannon({ url: options.url, method: 'GET', path, connections: options.connections, amount: options.amount, maxSeconds: options.maxSeconds });
  const idle: CannonResult[] = [];
  for (const path of CHEAP_PATHS) idle.push(await hit(path));
  const generation = await startBackgroundGeneration(options.url, options.generation);
  const busy: CannonResult[] = [];
  let done: CheapRequestsResult['generation'];
  try {
    // Let the streams get past admission and into decoding before measuring.
    await new Promise((r) => setTimeout(r, 500));
    for (const path of CHEAP_PATHS) busy.push(await hit(path));
  } finally {
    done = await generation.stop();
  }
  const { url: _url, ...recorded } = options;
  return { options: recorded, paths: CHEAP_PATHS.map((path, i) => ({ path, idle: idle[i], busy: busy[i] })), generation: done };
}
