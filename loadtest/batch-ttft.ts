/**
 * Interactive time to first token while a batch runs, against an idle server: the goal of the
 * Batch API issue is a ratio of at most 1.5. For contrast, the same load sent as ordinary
 * (interactive-priority) HTTP requests.
 *
 *   npx tsx loadtest/batch-ttft.ts --model models/qwen3-4b-int4 [--out results/batch-ttft] [--probes 6]
 *
 * One server process; three phases, each with the same sequence of interactive probes (streamed
 * /v1/completions, short prompt, a few tokens, greedy), one at a time with fixed gaps so they land
 * at different points of the engine's steps:
 *   1. idle: nothing else running (again after phase 2, pooled with this one);
 *   2. batch: a batch of contract summaries in progress (Batch API, batch priority), lines in
 *      flight as the executor keeps them (--batch-concurrency);
 *   3. plain (unless --no-plain): max-seqs of the contracts sent at once as plain HTTP requests.
 * TTFT is measured by the client: request sent to the first streamed token (logprobs on, so a
 * token whose text is held back still makes a chunk).
 */
import { setMaxListeners } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import OpenAI, { toFile } from 'openai';
import { generateContract } from './serve/contract-text.js';
import { startBatchBenchServer } from './batch-server.js';

const { values: flags } = parseArgs({
  options: {
    model: { type: 'string' },
    out: { type: 'string', default: 'results/batch-ttft' },
    'max-seqs': { type: 'string', default: '8' },
    'batch-concurrency': { type: 'string' },
    'max-prefill-chunk': { type: 'string' },
    'batch-prefill-tokens': { type: 'string' },
    threads: { type: 'string' },
    probes: { type: 'string', default: '6' },
    'probe-tokens': { type: 'string', default: '8' },
    'batch-lines': { type: 'string', default: '16' },
    'contract-chars': { type: 'string', default: '1500' },
    'summary-tokens': { type: 'string', default: '64' },
    'no-plain': { type: 'boolean', default: false },
  },
});
if (!flags.model) throw new Error('--model <dir> is required');

/** Short interactive prompts (about 30 tokens): a user's question beside the bulk job. */
const PROBE_PROMPTS = [
  'Question: What is the usual notice period for terminating a commercial lease in England? Answer briefly.\nAnswer:',
  'Question: Which clause of a services agreement usually caps the liability of the supplier? Answer briefly.\nAnswer:',
  'Question: What does a governing law clause decide in an international supply contract? Answer briefly.\nAnswer:',
  'Question: Why do confidentiality clauses often survive the end of the agreement they belong to? Answer briefly.\nAnswer:',
];
/** Gaps between probes (ms): uneven, so arrivals fall at different points of the engine's steps. */
const gapMs = (i: number) => 500 + ((i * 389) % 900);

interface Phase {
  name: string;
  ttftMs: number[];
  medianMs: number;
  meanMs: number;
  maxMs: number;
}

async function main(): Promise<void> {
  const maxSeqs = Number(flags['max-seqs']);
  // Prefix caching off: the probes cycle through four prompts, and a probe found in the cache
  // would skip its prefill, measuring the cache instead of the scheduling beside the batch.
  const serveArgs = ['--model', flags.model!, '--max-seqs', String(maxSeqs), '--no-prefix-caching'];
  if (flags['batch-concurrency']) serveArgs.push('--batch-concurrency', flags['batch-concurrency']);
  if (flags['max-prefill-chunk']) serveArgs.push('--max-prefill-chunk', flags['max-prefill-chunk']);
  if (flags['batch-prefill-tokens']) serveArgs.push('--batch-prefill-tokens', flags['batch-prefill-tokens']);
  if (flags.threads) serveArgs.push('--threads', flags.threads);
  log(`starting qwen3-serve ${serveArgs.join(' ')}`);
  const server = await startBatchBenchServer(serveArgs);
  try {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 30 * 60_000 });
    const model = (await client.models.list()).data[0].id;
    const probes = Number(flags.probes);
    const contracts = Array.from({ length: Number(flags['batch-lines']) }, (_, i) => generateContract(1000 + i, Number(flags['contract-chars'])));
    const summaryBody = (contract: string) => ({
      model,
      messages: [
        { role: 'system', content: 'Summarize the contract in five bullet points.' },
        { role: 'user', content: contract },
      ],
      max_tokens: Number(flags['summary-tokens']),
      temperature: 0,
      ignore_eos: true,
      chat_template_kwargs: { enable_thinking: false },
    });

    // Warm-up: the first forward passes of a fresh session are slower.
    await probe(client, model, PROBE_PROMPTS[0]);
    const idle = await runProbes('idle server', client, model, probes);

    const lines = contracts.map((contract, i) => JSON.stringify({ custom_id: `contract-${i}`, method: 'POST', url: '/v1/chat/completions', body: summaryBody(contract) }));
    const file = await client.files.create({ file: await toFile(Buffer.from(lines.join('\n')), 'contracts.jsonl'), purpose: 'batch' });
    const batchStart = performance.now();
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await waitForBusyEngine(server.url, Math.min(maxSeqs, Number(flags['batch-concurrency'] ?? maxSeqs)));
    const withBatch = await runProbes('batch running', client, model, probes);
    const during = await client.batches.retrieve(batch.id);
    const batchSeconds = (performance.now() - batchStart) / 1000;
    await client.batches.cancel(batch.id);
    // Idle again: the machine's other load drifts over minutes; probing idle before and after
    // the batch and pooling both keeps that drift out of the ratio.
    await waitForIdleEngine(server.url);
    const idleAfter = await runProbes('idle server, after the batch', client, model, probes);
    const idleBoth = pooled('idle (before and after)', idle, idleAfter);

    let plain: Phase | null = null;
    if (!flags['no-plain']) {
      await waitForIdleEngine(server.url);
      const abort = new AbortController();
      // One signal for every request of the load.
      setMaxListeners(contracts.length + 10, abort.signal);
      // As many as there are rows: the probes then compete for rows, not for a place in a queue.
      const load = contracts.slice(0, maxSeqs).map((contract) =>
        client.chat.completions.create(summaryBody(contract) as OpenAI.ChatCompletionCreateParamsNonStreaming, { signal: abort.signal }).catch(() => null),
      );
      await waitForBusyEngine(server.url, maxSeqs);
      plain = await runProbes('same load as plain requests', client, model, probes);
      abort.abort();
      await Promise.all(load);
    }

    const result = {
      model: flags.model,
      serveArgs: server.args,
      probes,
      probeTokens: Number(flags['probe-tokens']),
      batch: {
        lines: contracts.length,
        contractChars: Number(flags['contract-chars']),
        summaryTokens: Number(flags['summary-tokens']),
        linesDoneWhileProbing: during.request_counts,
        outputTokensWhileProbing: during.usage?.output_tokens ?? 0,
        secondsWhileProbing: batchSeconds,
      },
      phases: [idle, idleAfter, idleBoth, withBatch, ...(plain ? [plain] : [])],
      ratio: withBatch.medianMs / idleBoth.medianMs,
      meanRatio: withBatch.meanMs / idleBoth.meanMs,
      plainRatio: plain ? plain.medianMs / idleBoth.medianMs : null,
      plainMeanRatio: plain ? plain.meanMs / idleBoth.meanMs : null,
    };
    mkdirSync(flags.out!, { recursive: true });
    writeFileSync(join(flags.out!, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
    const report = formatReport(result);
    writeFileSync(join(flags.out!, 'report.md'), report);
    process.stdout.write(report);
  } finally {
    await server.stop();
  }
}

async function runProbes(name: string, client: OpenAI, model: string, count: number): Promise<Phase> {
  const ttftMs: number[] = [];
  for (let i = 0; i < count; i++) {
    ttftMs.push(await probe(client, model, PROBE_PROMPTS[i % PROBE_PROMPTS.length]));
    log(`${name}: probe ${i + 1}/${count} TTFT ${(ttftMs[i] / 1000).toFixed(2)} s`);
    await new Promise((r) => setTimeout(r, gapMs(i)));
  }
  return summarize(name, ttftMs);
}

function pooled(name: string, ...phases: Phase[]): Phase {
  return summarize(name, phases.flatMap((phase) => phase.ttftMs));
}

function summarize(name: string, ttftMs: number[]): Phase {
  const sorted = [...ttftMs].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const medianMs = sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { name, ttftMs, medianMs, meanMs: ttftMs.reduce((a, b) => a + b, 0) / ttftMs.length, maxMs: sorted[sorted.length - 1] };
}

/** One interactive request; its time to the first streamed chunk (ms). */
async function probe(client: OpenAI, model: string, prompt: string): Promise<number> {
  const started = performance.now();
  const stream = await client.completions.create({
    model,
    prompt,
    max_tokens: Number(flags['probe-tokens']),
    temperature: 0,
    stream: true,
    ignore_eos: true,
    // With logprobs every token is a chunk, also one whose text is held back (part of a
    // character): the first chunk is the first token.
    logprobs: 0,
  } as OpenAI.CompletionCreateParamsStreaming);
  let first: number | null = null;
  for await (const chunk of stream) {
    if (first === null && chunk.choices.length > 0) first = performance.now() - started;
  }
  if (first === null) throw new Error('the probe streamed no tokens');
  return first;
}

/**
 * Longest wait for the engine to fill up before probing anyway. Batch lines may never fill every
 * row: their prompts prefill a few tokens per step, so with 8 rows and long prompts about 4 run
 * at once (pass --batch-concurrency 4 to wait for exactly that).
 */
const BUSY_TIMEOUT_MS = 3 * 60_000;

/**
 * Waits until the server runs at least `rows` requests (its vllm:num_requests_running gauge):
 * batch prompts are prefilled a few tokens per step, so the rows fill one after another.
 */
async function waitForBusyEngine(url: string, rows: number): Promise<void> {
  const started = Date.now();
  let running = 0;
  while ((running = await runningRequests(url)) < rows) {
    if (Date.now() - started > BUSY_TIMEOUT_MS) {
      log(`only ${running} of ${rows} rows busy after ${BUSY_TIMEOUT_MS / 1000} s; probing anyway`);
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  log(`${running} rows busy after ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

async function waitForIdleEngine(url: string): Promise<void> {
  while ((await runningRequests(url)) > 0) await new Promise((r) => setTimeout(r, 250));
}

async function runningRequests(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^vllm:num_requests_running(?:\{[^}]*\})? ([0-9.e+-]+)$/m.exec(text);
  return match ? Number(match[1]) : 0;
}

function formatReport(result: {
  model: string | undefined;
  serveArgs: string[];
  probes: number;
  probeTokens: number;
  batch: { lines: number; contractChars: number; summaryTokens: number; linesDoneWhileProbing?: { completed: number; total: number }; outputTokensWhileProbing: number; secondsWhileProbing: number };
  phases: Phase[];
  ratio: number;
  meanRatio: number;
  plainRatio: number | null;
  plainMeanRatio: number | null;
}): string {
  const s = (ms: number) => (ms / 1000).toFixed(2);
  const rows = result.phases.map((p) => `| ${p.name} | ${s(p.medianMs)} | ${s(p.meanMs)} | ${s(p.maxMs)} | ${p.ttftMs.map(s).join(', ')} |`);
  return [
    `# Interactive TTFT beside a batch`,
    '',
    `Model ${result.model}; \`qwen3-serve serve ${result.serveArgs.join(' ')}\`.`,
    `Probes: ${result.probes} streamed completions per phase (about 30 prompt tokens, ${result.probeTokens} generated), one at a time.`,
    `Batch: ${result.batch.lines} contract summaries (${result.batch.contractChars}+ characters each, ${result.batch.summaryTokens} tokens out) through the Batch API.`,
    '',
    '| phase | median TTFT s | mean TTFT s | max TTFT s | each probe s |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `Median TTFT with the batch running: ${result.ratio.toFixed(2)}x idle (before and after pooled) (goal <= 1.5x: ${result.ratio <= 1.5 ? 'MET' : 'NOT MET'}); mean ${result.meanRatio.toFixed(2)}x.`,
    ...(result.plainRatio === null ? [] : [`The same load as plain requests: median ${result.plainRatio.toFixed(2)}x, mean ${result.plainMeanRatio!.toFixed(2)}x idle.`]),
    `The batch meanwhile answered ${result.batch.linesDoneWhileProbing?.completed ?? 0} of ${result.batch.lines} lines (${result.batch.outputTokensWhileProbing} tokens) in ${result.batch.secondsWhileProbing.toFixed(0)} s.`,
    '',
  ].join('\n');
}

function log(message: string): void {
  process.stderr.write(`[batch-ttft] ${message}\n`);
}

await main();
