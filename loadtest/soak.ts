/**
 * Soak benchmark (issue 13, not a test): a real `qwen3-serve serve` child on a model (default: the
 * built-in tiny test model) under bounded mixed traffic for `--minutes` (default 30): whole chat
 * completions, streams read to the end, streams aborted after a few chunks, /tokenize calls and
 * a small Batch API job every two minutes. Every 10 s it reads the server's own /metrics: resident
 * memory, V8 heap, array buffers, KV cache bytes in use, requests running. Memory must stay flat:
 * the summary compares the first and the last fifth of the run, and the plot shows the series.
 *
 *   npx tsx loadtest/soak.ts --minutes 30 --out loadtest/results-committed/soak
 *
 * Bounded: at most `--concurrency` requests in flight, one new one every `--interval-ms` at most.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import OpenAI, { toFile } from 'openai';
import type { TopLevelSpec } from 'vega-lite';
import { parseFlag, parsePositiveInt } from '../src/cli-options/option-parsers.js';
import { renderChartPng } from './serve/png-chart.js';

const { values: flags } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    'interval-ms': { type: 'string', default: '250' },
    concurrency: { type: 'string', default: '6' },
    model: { type: 'string' },
    out: { type: 'string', default: 'results/soak' },
  },
});
const minutes = parseFlag('minutes', flags.minutes, parsePositiveInt);
const intervalMs = parseFlag('interval-ms', flags['interval-ms'], parsePositiveInt);
const concurrency = parseFlag('concurrency', flags.concurrency, parsePositiveInt);

const METRICS = {
  rssBytes: 'qwen3_serve_process_resident_memory_bytes',
  heapUsedBytes: 'qwen3_serve_heap_used_bytes',
  arrayBufferBytes: 'qwen3_serve_array_buffers_bytes',
  kvUsedBytes: 'qwen3_serve_kv_cache_used_bytes',
  running: 'vllm:num_requests_running',
} as const;
type Sample = { minute: number } & Record<keyof typeof METRICS, number>;

const dataDir = mkdtempSync(join(tmpdir(), 'qwen3-soak-'));
const server = spawn(process.execPath, ['bin/qwen3-serve.js', 'serve', '--port', '0', '--data-dir', dataDir, '--max-seqs', '4', ...(flags.model ? ['--model', flags.model] : [])], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise<string>((resolve, reject) => {
  let out = '';
  server.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const match = /"url":"(http:[^"]+)"/.exec(out);
    if (match) resolve(match[1]);
  });
  server.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening`)));
});
server.stdout!.resume();
while ((await fetch(`${url}/ready`).catch(() => null))?.status !== 200) await new Promise((r) => setTimeout(r, 500));
const model = ((await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] }).data[0].id;
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });

const counts = { chat: 0, stream: 0, aborted: 0, tokenize: 0, batches: 0, errors: 0 };
const words = ['contract', 'party', 'amount', 'date', 'obligation', 'summary', 'clause', 'term', 'notice', 'payment'];
const prompt = () => Array.from({ length: 5 + Math.floor(Math.random() * 40) }, () => words[Math.floor(Math.random() * words.length)]).join(' ');
const messages = () => [{ role: 'user' as const, content: `Summarise: ${prompt()}` }];

/** One request of the mix; failures are counted, never thrown (a soak run must keep going). */
async function oneRequest(): Promise<void> {
  const pick = Math.random();
  try {
    if (pick < 0.35) {
      await client.chat.completions.create({ model, messages: messages(), max_tokens: 8 + Math.floor(Math.random() * 16) });
      counts.chat++;
    } else if (pick < 0.65) {
      for await (const chunk of await client.chat.completions.create({ model, messages: messages(), max_tokens: 32, stream: true })) void chunk;
      counts.stream++;
    } else if (pick < 0.85) {
      const controller = new AbortController();
      const stream = await client.chat.completions.create({ model, messages: messages(), max_tokens: 64, stream: true }, { signal: controller.signal });
      const stopAfter = 1 + Math.floor(Math.random() * 5);
      let seen = 0;
      try {
        for await (const chunk of stream) {
          void chunk;
          if (++seen >= stopAfter) controller.abort();
        }
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      }
      counts.aborted++;
    } else {
      const response = await fetch(`${url}/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, prompt: prompt() }) });
      if (!response.ok) throw new Error(`tokenize ${response.status}`);
      await response.arrayBuffer();
      counts.tokenize++;
    }
  } catch {
    counts.errors++;
  }
}

async function oneBatch(): Promise<void> {
  try {
    const lines = Array.from({ length: 6 }, (_, i) => JSON.stringify({ custom_id: `soak-${counts.batches}-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model, messages: messages(), max_tokens: 8 } }));
    const file = await client.files.create({ file: await toFile(Buffer.from(`${lines.join('\n')}\n`), 'soak.jsonl'), purpose: 'batch' });
    await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    counts.batches++;
  } catch {
    counts.errors++;
  }
}

async function sample(startedAt: number): Promise<Sample> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => {
    const line = text.split('\n').find((l) => l.startsWith(name) && (l[name.length] === '{' || l[name.length] === ' '));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN;
  };
  const entries = Object.entries(METRICS).map(([key, name]) => [key, value(name)]);
  return { minute: (performance.now() - startedAt) / 60_000, ...Object.fromEntries(entries) } as Sample;
}

const startedAt = performance.now();
const endAt = startedAt + minutes * 60_000;
const samples: Sample[] = [await sample(startedAt)];
let inFlight = 0;
let nextBatchAt = startedAt;
let nextSampleAt = startedAt + 10_000;
const pending = new Set<Promise<void>>();
const track = (work: Promise<void>) => {
  inFlight++;
  const done = work.finally(() => {
    inFlight--;
    pending.delete(done);
  });
  pending.add(done);
};
while (performance.now() < endAt) {
  const now = performance.now();
  if (now >= nextBatchAt) {
    track(oneBatch());
    nextBatchAt = now + 120_000;
  } else if (inFlight < concurrency) {
    track(oneRequest());
  }
  if (now >= nextSampleAt) {
    samples.push(await sample(startedAt));
    nextSampleAt = now + 10_000;
  }
  await new Promise((r) => setTimeout(r, intervalMs));
}
await Promise.all(pending);
// After the traffic: whatever the batches still hold runs; then every KV row must be free again.
await new Promise((r) => setTimeout(r, 20_000));
samples.push(await sample(startedAt));
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
rmSync(dataDir, { recursive: true, force: true });

const fifth = Math.max(1, Math.floor(samples.length / 5));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
const growth = (key: keyof typeof METRICS) => {
  const first = median(samples.slice(1, 1 + fifth).map((s) => s[key]));
  const last = median(samples.slice(-fifth - 1, -1).map((s) => s[key]));
  return { firstFifthMedian: first, lastFifthMedian: last, ratio: Math.round((last / first) * 1000) / 1000 };
};
const summary = {
  minutes,
  intervalMs,
  concurrency,
  requests: counts,
  rss: growth('rssBytes'),
  heapUsed: growth('heapUsedBytes'),
  arrayBuffers: growth('arrayBufferBytes'),
  kvUsedAfterTraffic: samples[samples.length - 1].kvUsedBytes,
  runningAfterTraffic: samples[samples.length - 1].running,
};
mkdirSync(flags.out, { recursive: true });
writeFileSync(join(flags.out, 'soak.json'), `${JSON.stringify({ summary, samples }, null, 1)}\n`);
const series = samples.flatMap((s) => [
  { minute: s.minute, series: 'resident memory', mb: s.rssBytes / 1e6 },
  { minute: s.minute, series: 'V8 heap used', mb: s.heapUsedBytes / 1e6 },
  { minute: s.minute, series: 'array buffers', mb: s.arrayBufferBytes / 1e6 },
  { minute: s.minute, series: 'KV cache in use', mb: s.kvUsedBytes / 1e6 },
]);
const spec: TopLevelSpec = {
  title: `Soak: ${minutes} min of mixed traffic (chat, streams, aborts, tokenize, batches)`,
  width: 520,
  height: 260,
  data: { values: series },
  mark: { type: 'line', point: false },
  encoding: {
    x: { field: 'minute', type: 'quantitative', title: 'minutes' },
    y: { field: 'mb', type: 'quantitative', title: 'MB' },
    color: { field: 'series', type: 'nominal', legend: { orient: 'bottom', labelLimit: 300 } },
  },
};
writeFileSync(join(flags.out, 'memory.png'), await renderChartPng(spec));
console.log(JSON.stringify(summary, null, 1));
