import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCheapRequests } from '../loadtest/http/cheap-requests-scenario.js';
import { runDisconnects } from '../loadtest/http/disconnect-scenario.js';
import { formatHttpLoad } from '../loadtest/http/http-load-report.js';
import { MetricsScrape } from '../loadtest/http/metrics-scrape.js';
import { runOverload } from '../loadtest/http/overload-scenario.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/**
 * The HTTP load scenarios (autocannon and the streaming client) against a real server on the
 * tiny model with a small queue: behaviour, not timings. 2 rows + 2 waiting admit 4 requests.
 */
describe('HTTP load scenarios', () => {
  let server: TestServer;
  const MAX_SEQS = 2;
  const MAX_WAITING = 2;

  beforeAll(async () => {
    server = await startTestServer({ engine: { maxSeqs: MAX_SEQS }, maxWaiting: MAX_WAITING });
  });
  afterAll(async () => {
    await server?.handle.close();
  });

  it('overload: the excess gets fast 429s with Retry-After, no 5xx, admitted requests finish, memory stays flat', async () => {
    const result = await runOverload({ url: server.url, connections: 24, amount: 300, maxSeconds: 30, promptTokens: 8, maxTokens: 4 });
    const { cannon } = result;
    expect(Object.keys(cannon.statuses).sort()).toEqual(['200', '429']);
    expect(result.admitted).toBeGreaterThan(0);
    // 24 connections against room for 4: most are refused.
    expect(result.refused).toBeGreaterThan(result.admitted);
    expect(result.serverErrors).toBe(0);
    expect(cannon.errors).toBe(0);
    expect(cannon.timeouts).toBe(0);
    expect(cannon.requests).toBe(300);
    expect(cannon.retryAfter.missing).toBe(0);
    expect(cannon.retryAfter.values).toHaveLength(result.refused);
    for (const seconds of cannon.retryAfter.values) expect(seconds).toBeGreaterThanOrEqual(1);
    // Refusing is cheaper than generating: 429s answer faster than admitted requests.
    expect(cannon.latencyByStatus['429'].median).toBeLessThan(cannon.latencyByStatus['200'].median);
    // Refused requests hold nothing: the process grows by far less than it weighs.
    expect(result.rssBytes.max).toBeLessThan(result.rssBytes.before * 1.5);
    // The queue drained: nothing left in flight.
    expect(server.handle.engine!.inFlight).toBe(0);
  });

  it('cheap requests: /health, /v1/models and /metrics all answer 200 idle and while every row generates', async () => {
    const result = await runCheapRequests({ url: server.url, connections: 2, amount: 40, maxSeconds: 20, generation: { streams: MAX_SEQS, promptTokens: 8, maxTokens: 16 } });
    expect(result.paths.map((p) => p.path)).toEqual(['/health', '/v1/models', '/metrics']);
    for (const path of result.paths) {
      for (const phase of [path.idle, path.busy]) {
        expect(phase.statuses).toEqual({ 200: 40 });
        expect(phase.errors).toBe(0);
        expect(phase.latencyByStatus['200'].p99).toBeGreaterThan(0);
      }
    }
    expect(result.generation.completed).toBeGreaterThan(0);
    expect(result.generation.failed).toBe(0);
    expect(result.generation.outputTokens).toBe(result.generation.completed * 16);
  });

  it('mid-stream disconnects: every dropped stream is aborted by the engine and its row freed', async () => {
    const result = await runDisconnects({
      url: server.url,
      requests: 6,
      concurrency: MAX_SEQS,
      abortAfterChunks: 1,
      promptTokens: 8,
      maxTokens: 400,
      settleSeconds: 20,
      followUp: MAX_SEQS,
    });
    expect(result.dropped).toBe(6);
    expect(result.failedEarly).toBe(0);
    expect(result.engineAborts).toBe(6);
    expect(result.settledAfterMs).not.toBeNull();
    expect(result.after).toEqual({ running: 0, waiting: 0, kvUsedBytes: 0 });
    expect(result.followUp).toEqual({ completed: MAX_SEQS, failed: 0 });
    expect(server.handle.engine!.inFlight).toBe(0);
  });

  it('the report states every expectation', async () => {
    const overload = await runOverload({ url: server.url, connections: 12, amount: 60, maxSeconds: 20, promptTokens: 8, maxTokens: 2 });
    const cheap = await runCheapRequests({ url: server.url, connections: 1, amount: 10, maxSeconds: 10, generation: { streams: 1, promptTokens: 8, maxTokens: 4 } });
    const disconnects = await runDisconnects({ url: server.url, requests: 2, concurrency: 2, abortAfterChunks: 1, promptTokens: 8, maxTokens: 300, settleSeconds: 20, followUp: 2 });
    const text = formatHttpLoad({
      kind: 'http',
      machine: { cpuModel: 'test', cores: 2, simdFlags: [], l3Cache: undefined, memoryBytes: 0, node: process.version, onnxruntime: 'x', loadAverage: [0, 0, 0] },
      server: { args: ['--max-seqs', '2'], capacity: 4 },
      overload,
      cheap,
      disconnects,
      loadAverage: { start: [1, 1, 1], end: [1, 1, 1] },
    });
    expect(text).toMatch(/excess refused with 429: yes; every 429 has Retry-After: yes; no 5xx: yes/);
    expect(text).toContain('| /health ');
    expect(text).toMatch(/No slot leak: yes\./);
  });

  it('reads gauges from the exposition text', () => {
    const scrape = MetricsScrape.parse('# HELP a x\n# TYPE a gauge\na{model_name="m"} 3\nb_total{finished_reason="abort",model_name="m"} 2\nb_total{finished_reason="stop",model_name="m"} 5\n');
    expect(scrape.value('a')).toBe(3);
    expect(scrape.value('b_total')).toBe(7);
    expect(scrape.value('b_total', 'finished_reason="abort"')).toBe(2);
    expect(scrape.value('missing')).toBeUndefined();
    expect(() => scrape.require('missing')).toThrow(/no missing/);
  });
});
