import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardQueries, variableQueries } from '../deploy/grafana/dashboard-queries.js';
import { DASHBOARD_JSON_PATH } from '../deploy/grafana/write-dashboard.js';
import { ServerMetrics } from '../exporter/index.js';
import { startServer, type ServerHandle } from '../src/server.js';
import { tinyModelDir } from './helpers/models.js';
import { parseExposition, prometheusInstalled, sampleValue, startPrometheus, type RunningPrometheus } from './helpers/prometheus.js';

/**
 * The dashboard against the real thing: the real server (startServer, tiny model, engine worker)
 * with our metrics, real traffic through the official openai client, a real Prometheus scraping
 * /metrics every second on 127.0.0.1, and every PromQL expression of the committed dashboard JSON
 * evaluated through Prometheus's HTTP API. GPU series come from a stand-in nvidia-smi process
 * printing an H100's line (there is no GPU here).
 */

const MODEL = 'qwen3-tiny-metrics';
const dashboard = JSON.parse(readFileSync(DASHBOARD_JSON_PATH, 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'qwen3-serve-prometheus-test-'));

let server: ServerHandle;
let metrics: ServerMetrics;
let prometheus: RunningPrometheus;
let client: OpenAI;

/**
 * Grafana's variables as a dashboard user would have them: this model (its name has no regex
 * metacharacters, so it matches itself under =~) and a 5-minute rate window.
 */
function substitute(expr: string): string {
  return expr.replaceAll('$model_name', MODEL).replaceAll('$__rate_interval', '5m');
}

/** Why an expression shows nothing on a panel (no series, or only NaN/Inf), or null when it has data. */
async function noDataReason(expr: string): Promise<string | null> {
  const result = await prometheus.query(substitute(expr));
  if (result.length === 0) return 'no series';
  if (!result.some((sample) => Number.isFinite(sample.value))) return `no finite value (${result.map((s) => s.value).join(', ')})`;
  return null;
}

function fakeNvidiaSmi(): string {
  const script = join(dir, 'nvidia-smi');
  writeFileSync(script, "#!/bin/sh\nprintf '0, NVIDIA H100 80GB HBM3, 35, 20480, 81559, 44, 180.25\\n'\n");
  chmodSync(script, 0o755);
  return script;
}

async function chat(maxTokens: number, content: string): Promise<void> {
  await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }], max_tokens: maxTokens, temperature: 0 });
}

async function streamChat(maxTokens: number, content: string): Promise<void> {
  const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }], max_tokens: maxTokens, stream: true });
  for await (const chunk of stream) void chunk;
}

async function scrapeMs(): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${server.url}/metrics`);
  await response.text();
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  return performance.now() - started;
}

beforeAll(async () => {
  if (!prometheusInstalled()) throw new Error('prometheus is not installed: apt-get install prometheus (.ci/run installs it)');
  metrics = new ServerMetrics({ modelName: MODEL, gpu: { command: fakeNvidiaSmi(), intervalMs: 500 } });
  await metrics.start();
  server = await startServer({
    // One onnxruntime thread leaves the main thread a core of its own on a 2-core machine.
    engine: { modelDir: tinyModelDir('int4'), maxSeqs: 2, threads: 1 },
    port: 0,
    servedModelName: MODEL,
    maxWaiting: 2,
    logger: pino({ level: 'silent' }),
    observer: metrics,
    metrics,
    onEngineReady: (engine) => metrics.attachEngine(engine),
  });
  await server.ready;
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  prometheus = await startPrometheus({ targets: [`${server.address.host}:${server.address.port}`], scrapeIntervalS: 1 });
});

afterAll(async () => {
  await prometheus?.stop();
  await server?.close();
  metrics?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('metrics under load, scraped by a real Prometheus', () => {
  it('/metrics answers in well under 50 ms while the engine is busy generating', async () => {
    const generatedBefore = sampleValue(parseExposition(await metrics.render()), 'vllm:generation_tokens_total', { model_name: MODEL });
    let busy = true;
    // Keep both KV rows and the queue full for the whole measurement.
    const load = Array.from({ length: 4 }, async (_, i) => {
      while (busy) await chat(48, `keep the engine busy ${i}`);
    });
    await new Promise((r) => setTimeout(r, 300));
    const latencies: number[] = [];
    for (let i = 0; i < 60; i++) {
      latencies.push(await scrapeMs());
      await new Promise((r) => setTimeout(r, 20));
    }
    const samples = parseExposition(await metrics.render());
    busy = false;
    await Promise.all(load);

    // The engine really was working while we scraped.
    expect(sampleValue(samples, 'vllm:generation_tokens_total', { model_name: MODEL }) - generatedBefore).toBeGreaterThan(60);
    expect(sampleValue(samples, 'vllm:num_requests_running', { model_name: MODEL })).toBeGreaterThan(0);
    latencies.sort((a, b) => a - b);
    const p50 = latencies[Math.floor(latencies.length * 0.5)];
    const p90 = latencies[Math.floor(latencies.length * 0.9)];
    console.log(`/metrics during generation: p50 ${p50.toFixed(2)} ms, p90 ${p90.toFixed(2)} ms, max ${latencies.at(-1)!.toFixed(2)} ms`);
    // Rendering alone takes about a millisecond; the rest is the shared main thread and two shared
    // cores. The typical scrape must be under 50 ms; the tail only has to stay bounded, because on
    // a machine whose other tests load both cores a neighbour's burst lands in a few scrapes (p90
    // of 58 ms was seen at load 6.7).
    expect(p50).toBeLessThan(50);
    expect(p90).toBeLessThan(150);
  });

  it('every dashboard query returns data from Prometheus after real traffic', async () => {
    // Queued and running requests, streamed and whole, some refused at capacity (429), one for an
    // unknown model (404).
    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 8 }, (_, i) => chat(12 + i, `count to ${i}`)),
      streamChat(10, 'stream a little'),
      client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
    ]);
    const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason.status);
    expect(refused).toContain(429);
    expect(refused).toContain(404);
    await Promise.all([chat(8, 'one more after the burst'), streamChat(8, 'and a stream')]);

    // Wait until Prometheus has scraped the end of the traffic, then one scrape more.
    const finished = sampleValue(parseExposition(await metrics.render()), 'vllm:request_success_total', { model_name: MODEL, finished_reason: 'length' }) +
      sampleValue(parseExposition(await metrics.render()), 'vllm:request_success_total', { model_name: MODEL, finished_reason: 'stop' });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const [seen] = await prometheus.query(`sum(vllm:request_success_total{model_name="${MODEL}",finished_reason=~"stop|length"})`);
      if (seen && seen.value >= finished) break;
      if (Date.now() > deadline) throw new Error(`prometheus never saw ${finished} finished requests`);
      await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise((r) => setTimeout(r, 1500));
    expect((await prometheus.targets()).map((t) => t.health)).toEqual(['up']);

    const queries = dashboardQueries(dashboard);
    expect(queries.length).toBeGreaterThan(30);
    const failures: string[] = [];
    for (const { panel, refId, expr } of queries) {
      const reason = await noDataReason(expr);
      if (reason) failures.push(`${panel} ${refId}: ${reason}: ${substitute(expr)}`);
    }
    expect(failures).toEqual([]);

    for (const { query } of variableQueries(dashboard)) {
      const match = /^label_values\((.+), (\w+)\)$/.exec(query);
      expect(match, query).not.toBeNull();
      expect(await prometheus.labelValues(match![2], match![1])).toContain(MODEL);
    }

    // The numbers behind the panels are the traffic's: tokens flowed, the 429s were counted.
    const [generated] = await prometheus.query(substitute(queries.find((q) => q.panel === 'Tokens per second' && q.refId === 'B')!.expr));
    expect(generated.value).toBeGreaterThan(0);
    const [rateLimited] = await prometheus.query(`sum(qwen3_serve_errors_total{model_name="${MODEL}",type="rate_limit_error"})`);
    expect(rateLimited.value).toBe(refused.filter((s) => s === 429).length);
    const [gpuUtil] = await prometheus.query(`qwen3_serve_gpu_utilization_ratio{model_name="${MODEL}",index="0",name="NVIDIA H100 80GB HBM3"}`);
    expect(gpuUtil.value).toBe(0.35);
  });

  it('a dashboard query naming a metric we do not export fails the same check', async () => {
    // vLLM v0's swapped-requests gauge and its deprecated time-per-output-token histogram: we
    // export neither, so a panel built on them would be empty.
    for (const expr of [
      'sum(vllm:num_requests_swapped{model_name=~"$model_name"})',
      'histogram_quantile(0.5, sum by (le) (rate(vllm:time_per_output_token_seconds_bucket{model_name=~"$model_name"}[$__rate_interval])))',
    ]) {
      expect(await noDataReason(expr)).toBe('no series');
    }
    // The check is the one the dashboard passed above, on the same data: a real panel still has data.
    expect(await noDataReason('sum(vllm:num_requests_running{model_name=~"$model_name"})')).toBeNull();
  });
});
