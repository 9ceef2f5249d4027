import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One sample of Prometheus text exposition: `name{labels} value`. */
export interface ExposedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses the text exposition format (what /metrics serves) into samples. Enough for our output:
 * label values are quoted with `\\`, `\"` and `\n` escapes; no timestamps.
 */
export function parseExposition(text: string): ExposedSample[] {
  const samples: ExposedSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (const [, key, raw] of (match[2] ?? '').matchAll(labelPattern)) {
      labels[key] = raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The one sample named `name` whose labels include `labels`; throws unless exactly one matches. */
export function sampleValue(samples: ExposedSample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length !== 1) throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${found.length}`);
  return found[0].value;
}

/** A histogram's cumulative bucket counts by `le`, its sum and count, for the given labels. */
export function histogramOf(samples: ExposedSample[], name: string, labels: Record<string, string> = {}) {
  const matches = (s: ExposedSample) => Object.entries(labels).every(([k, v]) => s.labels[k] === v);
  const buckets = new Map<string, number>();
  for (const s of samples) if (s.name === `${name}_bucket` && matches(s)) buckets.set(s.labels.le, s.value);
  return { buckets, sum: sampleValue(samples, `${name}_sum`, labels), count: sampleValue(samples, `${name}_count`, labels) };
}

/** A TCP port free right now on 127.0.0.1 (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export function prometheusInstalled(): boolean {
  return spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A PromQL instant-query result: one sample per series. */
export interface InstantSample {
  metric: Record<string, string>;
  value: number;
}

export interface RunningPrometheus {
  url: string;
  /** Evaluates PromQL at the current time through /api/v1/query. Throws on a query error. */
  query(expr: string): Promise<InstantSample[]>;
  /** Label values through /api/v1/label/<name>/values, optionally restricted by series selectors. */
  labelValues(label: string, match?: string): Promise<string[]>;
  /** The scrape targets' health, as /api/v1/targets reports it. */
  targets(): Promise<{ scrapeUrl: string; health: string; lastError: string }[]>;
  stop(): Promise<void>;
}

/**
 * Starts a real Prometheus (the Debian package's binary) on a free 127.0.0.1 port with a temp
 * config and data folder, scraping `targets` (host:port, path /metrics) every `scrapeIntervalS`.
 * Resolves once every target has been scraped; stop() kills it and removes its folder.
 */
export async function startPrometheus(options: { targets: string[]; scrapeIntervalS?: number }): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'qwen3-serve-prometheus-'));
  const interval = `${options.scrapeIntervalS ?? 1}s`;
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    '  - job_name: qwen3-serve',
    `    scrape_timeout: ${interval}`,
    '    metrics_path: /metrics',
    '    static_configs:',
    `      - targets: [${options.targets.map((t) => `'${t}'`).join(', ')}]`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${stderr}`);
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error}`);
    return body.data;
  };

  const prometheus: RunningPrometheus = {
    url,
    async query(expr) {
      const data = await api<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>(
        `/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      if (data.resultType !== 'vector') throw new Error(`expected a vector from ${expr}, got ${data.resultType}`);
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async labelValues(label, match) {
      const query = match ? `?match[]=${encodeURIComponent(match)}` : '';
      return api<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values${query}`);
    },
    async targets() {
      const data = await api<{ activeTargets: { scrapeUrl: string; health: string; lastError: string }[] }>('/api/v1/targets');
      return data.activeTargets;
    },
    stop,
  };

  // Prometheus hands new targets to its scrapers on a 5-second tick: wait for the first scrape of
  // every target, so that samples before a test's traffic exist and rate() sees it start.
  for (;;) {
    const up = await prometheus.query('up == 1').catch(() => []);
    if (up.length === options.targets.length) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus never scraped ${options.targets.join(', ')}: ${JSON.stringify(await prometheus.targets().catch(() => null))}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return prometheus;
}
