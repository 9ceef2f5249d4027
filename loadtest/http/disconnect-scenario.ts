import { syntheticTokenIds } from '../bench/synthetic-tokens.js';
import { runLoad } from '../serve/load-shapes.js';
import { StreamingClient } from '../serve/streaming-client.js';
import { MetricsScrape } from './metrics-scrape.js';

export interface DisconnectOptions {
  url: string;
  /** Streams opened and dropped. */
  requests: number;
  /** How many are open at once. */
  concurrency: number;
  /** Each client closes its connection after this many text chunks. */
  abortAfterChunks: number;
  promptTokens: number;
  /** Far more than the client waits for: the request would run long after its client left. */
  maxTokens: number;
  /** How long the engine gets to release every row after the last disconnect. */
  settleSeconds: number;
  /** The requests of the follow-up wave (the server's row count: all must run at once). */
  followUp: number;
}

export interface DisconnectResult {
  options: Omit<DisconnectOptions, 'url'>;
  /** Streams the client dropped mid-way (it had read its chunks and the output was not done). */
  dropped: number;
  /** Streams that failed before their first chunks (should be 0). */
  failedEarly: number;
  /** vLLM's request-success counter with finished_reason="abort": how many the engine ended as aborted. */
  engineAborts: number;
  /** Time until /metrics showed no request running or waiting and no KV in use (null: not within settleSeconds). */
  settledAfterMs: number | null;
  after: { running: number; waiting: number; kvUsedBytes: number };
  /** The follow-up wave of `followUp` concurrent short streams: all should complete. */
  followUp: { completed: number; failed: number };
}

/**
 * Mid-stream disconnects: streams whose clients close the connection after a few chunks. The
 * server must abort each request and free its KV row: afterwards /metrics shows nothing
 * running, nothing waiting and no KV in use, and a full wave of new requests runs.
 */
export async function runDisconnects(options: DisconnectOptions): Promise<DisconnectResult> {
  const client = await StreamingClient.connect(options.url);
  const abortsBefore = (await MetricsScrape.fetch(options.url)).value('vllm:request_success_total', 'finished_reason="abort"') ?? 0;
  const prompts = Array.from({ length: options.requests }, (_, i) => ({ promptTokenIds: syntheticTokenIds(options.promptTokens, 500 + i), outputTokens: options.maxTokens }));
  const run = await runLoad(prompts, { kind: 'concurrency', concurrency: options.concurrency }, (prompt) => client.send(prompt, { abortAfterChunks: options.abortAfterChunks }));
  const dropped = run.results.filter((r) => r.error === 'aborted by the client').length;

  const started = performance.now();
  let settledAfterMs: number | null = null;
  let scrape = await MetricsScrape.fetch(options.url);
  while (performance.now() - started < options.settleSeconds * 1000) {
    scrape = await MetricsScrape.fetch(options.url);
    if (idle(scrape)) {
      settledAfterMs = performance.now() - started;
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const after = {
    running: scrape.require('vllm:num_requests_running'),
    waiting: scrape.require('vllm:num_requests_waiting'),
    kvUsedBytes: scrape.require('qwen3_serve_kv_cache_used_bytes'),
  };
  const engineAborts = (scrape.value('vllm:request_success_total', 'finished_reason="abort"') ?? 0) - abortsBefore;

  const wave = Array.from({ length: options.followUp }, (_, i) => ({ promptTokenIds: syntheticTokenIds(options.promptTokens, 900 + i), outputTokens: 2 }));
  const followUp = await runLoad(wave, { kind: 'concurrency', concurrency: options.followUp }, (prompt) => client.send(prompt));
  const { url: _url, ...recorded } = options;
  return {
    options: recorded,
    dropped,
    failedEarly: run.results.length - dropped - run.results.filter((r) => r.ok).length,
    engineAborts,
    settledAfterMs,
    after,
    followUp: { completed: followUp.results.filter((r) => r.ok).length, failed: followUp.results.filter((r) => !r.ok).length },
  };
}

function idle(scrape: MetricsScrape): boolean {
  return scrape.require('vllm:num_requests_running') === 0 && scrape.require('vllm:num_requests_waiting') === 0 && scrape.require('qwen3_serve_kv_cache_used_bytes') === 0;
}
