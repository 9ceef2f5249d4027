/**
 * Does the HTTP thread stay free while multi-megabyte prompts arrive? Polls GET /health every
 * 10 ms while a few chat requests of about 3.6 MB each (under the 4 MiB body limit) are sent at
 * once, and reports /health's latency percentiles idle and under that load, with prompts
 * tokenized on tokenizer threads (--tokenizer-workers 1, the default) and, for comparison, on the
 * HTTP thread (--tokenizer-workers 0, as before issue 13). The goal: /health p99 under 50 ms.
 *
 *   npx tsx loadtest/health-under-long-prompts.ts [--model DIR] [--prompt-mb 3.6] [--concurrent 3] [--json out.json]
 *
 * The prompts are far beyond the context, so each is answered 400 context_length_exceeded once it
 * is tokenized: what is measured is the tokenizing, not generation. The tiny model by default
 * (the tokenizer is the real Qwen3 one; the model's size does not matter here).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { DEFAULT_MODEL_CACHE, ensureBenchModel } from './bench/bench-models.js';
import { describeMachine } from './bench/machine-info.js';
import { markdownTable } from './bench/markdown-table.js';
import { startBatchBenchServer } from './batch-server.js';
import { generateContract } from './serve/contract-text.js';

const { values: flags } = parseArgs({
  options: {
    model: { type: 'string' },
    cache: { type: 'string', default: DEFAULT_MODEL_CACHE },
    'prompt-mb': { type: 'string', default: '3.6' },
    concurrent: { type: 'string', default: '3' },
    'idle-seconds': { type: 'string', default: '2' },
    json: { type: 'string' },
  },
});

const HEALTH_INTERVAL_MS = 10;
const GOAL_P99_MS = 50;

interface Latencies {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

interface ModeResult {
  tokenizerWorkers: number;
  idle: Latencies;
  loaded: Latencies;
  /** Each long request: its status and how long it took to be answered (ms). */
  longRequests: { status: number; ms: number }[];
}

/**
 * The long requests are sent from a worker thread: uploading megabytes from the thread that
 * polls /health would delay the polls themselves and charge the client's time to the server.
 */
const SENDER = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, body, count } = workerData;
Promise.all(Array.from({ length: count }, async () => {
  const started = performance.now();
  const response = await fetch(url + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  await response.arrayBuffer();
  return { status: response.status, ms: performance.now() - started };
})).then((results) => parentPort.postMessage(results));
`;

function sendFromAnotherThread(url: string, body: string, count: number): Promise<{ status: number; ms: number }[]> {
  const worker = new Worker(SENDER, { eval: true, workerData: { url, body, count } });
  return new Promise((resolve, reject) => {
    worker.once('message', (results: { status: number; ms: number }[]) => {
      resolve(results);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

async function main(): Promise<void> {
  const promptChars = Math.floor(Number(flags['prompt-mb']) * 1e6);
  const concurrent = Number(flags.concurrent);
  const modelDir = flags.model ?? ensureBenchModel({ preset: 'tiny', format: { bits: 4, blockSize: 32 }, seed: 0 }, flags.cache, log);
  const machine = describeMachine();
  log(`${machine.cpuModel}, ${machine.cores} cores, ${machine.simdFlags.join(' ')}`);
  const body = JSON.stringify({ messages: [{ role: 'user', content: generateContract(13, promptChars).slice(0, promptChars) }], max_tokens: 1 });
  log(`prompt body ${(body.length / 1e6).toFixed(2)} MB, ${concurrent} at once`);

  const modes: ModeResult[] = [];
  for (const tokenizerWorkers of [1, 0]) {
    const server = await startBatchBenchServer(['--model', modelDir, '--max-seqs', '2', '--tokenizer-workers', String(tokenizerWorkers)]);
    try {
      // Warm-up: one long prompt, so both paths have compiled their code before measuring.
      await post(server.url, body);
      const idle = await pollHealth(server.url, sleep(Number(flags['idle-seconds']) * 1000));
      const longRequests = sendFromAnotherThread(server.url, body, concurrent);
      const loaded = await pollHealth(server.url, longRequests);
      const result = { tokenizerWorkers, idle: summarize(idle), loaded: summarize(loaded), longRequests: await longRequests };
      log(`tokenizer workers ${tokenizerWorkers}: /health p99 idle ${result.idle.p99.toFixed(1)} ms, under load ${result.loaded.p99.toFixed(1)} ms (max ${result.loaded.max.toFixed(1)})`);
      modes.push(result);
    } finally {
      await server.stop();
    }
  }

  const ms = (value: number) => value.toFixed(1);
  const table = markdownTable(
    ['tokenizer workers', '/health p50 idle', 'p99 idle', 'p50 under load', 'p99 under load', 'max under load', 'long prompts answered in (s)'],
    modes.map((m) => [
      m.tokenizerWorkers === 0 ? '0 (HTTP thread)' : String(m.tokenizerWorkers),
      ms(m.idle.p50),
      ms(m.idle.p99),
      ms(m.loaded.p50),
      ms(m.loaded.p99),
      ms(m.loaded.max),
      m.longRequests.map((r) => `${(r.ms / 1000).toFixed(1)} (${r.status})`).join(', '),
    ]),
  );
  const withWorkers = modes[0].loaded.p99;
  process.stdout.write(
    `${table}\n\n/health latencies in ms, polled every ${HEALTH_INTERVAL_MS} ms; ${concurrent} chat requests of ${(body.length / 1e6).toFixed(2)} MB at once.\n` +
      `goal: p99 under ${GOAL_P99_MS} ms with tokenizer threads: ${withWorkers < GOAL_P99_MS ? 'met' : 'NOT met'} (${ms(withWorkers)} ms)\n` +
      `model ${modelDir}; ${machine.cpuModel} (${machine.cores} cores; ${machine.simdFlags.join(' ')})\n`,
  );
  if (flags.json) writeFileSync(flags.json, `${JSON.stringify({ model: modelDir, promptBytes: body.length, concurrent, machine, modes }, null, 2)}\n`);
}

/** GET /health every HEALTH_INTERVAL_MS until `until` settles; each answer's latency in ms. */
async function pollHealth(url: string, until: Promise<unknown>): Promise<number[]> {
  let done = false;
  void until.finally(() => (done = true));
  const latencies: number[] = [];
  while (!done) {
    const started = performance.now();
    // A keep-alive connection the server closes as it wakes from a stall resets the poll: its
    // time counts (it is how long /health went unanswered), then a fresh connection is used.
    await fetch(`${url}/health`).then((response) => response.arrayBuffer(), () => null);
    latencies.push(performance.now() - started);
    await sleep(HEALTH_INTERVAL_MS);
  }
  return latencies;
}

async function post(url: string, body: string): Promise<number> {
  const response = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  await response.arrayBuffer();
  return response.status;
}

function summarize(values: number[]): Latencies {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? NaN };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function log(line: string): void {
  process.stderr.write(`[health-under-long-prompts] ${line}\n`);
}

await main();
