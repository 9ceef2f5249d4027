import { cpus, loadavg } from 'node:os';
import OpenAI, { toFile } from 'openai';
import { startBatchBenchServer } from '../batch-server.js';
import { runInChildProcess } from '../bench/fork-module.js';
import type { ContractRequestTiming, LlamaCppContractParams, LlamaCppContractResult } from '../bench/llama-cpp-contracts.js';
import { describeMachine, type MachineInfo } from '../bench/machine-info.js';
import { MetricsScrape } from '../http/metrics-scrape.js';
import type { BenchPrompt } from '../serve/datasets.js';

/**
 * The contract workload of issue 11, side by side in one run: the same contract prompts (token
 * ids) summarised by qwen3-serve through the Batch API, and by llama.cpp with as many sequences
 * as our server has rows. Throughput is the workload's tokens over its wall time, so the ratio of
 * the two throughputs is the ratio of the wall times.
 */
export interface ContractBenchOptions {
  prompts: BenchPrompt[];
  /** Our model folder and the arguments `qwen3-serve serve` gets besides --model. */
  modelDir: string;
  serveArgs: string[];
  /** The llama.cpp peer (null: ours only). */
  gguf: string | null;
  /** Rows of our server (--max-seqs) and llama.cpp's sequences. */
  slots: number;
  threads: number;
  /** Which sides run (a long run can be split into two). */
  sides: { ours: boolean; llamaCpp: boolean };
  log?: (line: string) => void;
}

/** One side's run of the workload. */
export interface ContractSideSummary {
  wallSeconds: number;
  requests: number;
  promptTokens: number;
  outputTokens: number;
  /** Prompt plus generated tokens over the wall time. */
  tokensPerSecond: number;
  outputTokensPerSecond: number;
  requestsPerMinute: number;
  /** The engine's CPU time over wall time times the cores: how much of the machine it got. */
  cpuShare: number;
}

export interface OurContractResult extends ContractSideSummary {
  serveArgs: string[];
  /** Prompt tokens the server took from its prefix cache (the chat template's shared start). */
  cachedPromptTokens: number;
  /** Seconds from the batch's creation at which each summary was seen done (polled every POLL_MS). */
  completedAt: number[];
  batchId: string;
  loadAverage: { start: number[]; end: number[] };
}

export interface LlamaCppContractSide extends ContractSideSummary {
  run: LlamaCppContractResult;
  meanTtftSeconds: number;
}

export interface ContractBenchResult {
  kind: 'contracts';
  machine: MachineInfo;
  startedAt: string;
  modelDir: string;
  gguf: string | null;
  slots: number;
  threads: number;
  requests: number;
  promptTokens: { min: number; max: number; total: number };
  outputTokens: number;
  ours: OurContractResult | null;
  llamaCpp: LlamaCppContractSide | null;
  /** Our throughput over llama.cpp's (their wall time over ours), when both ran. */
  throughputRatio: number | null;
}

const POLL_MS = 1000;

export async function runContractBench(options: ContractBenchOptions): Promise<ContractBenchResult> {
  const log = options.log ?? (() => {});
  const lengths = options.prompts.map((p) => p.promptTokenIds.length);
  const outputTokens = options.prompts[0].outputTokens;
  if (options.prompts.some((p) => p.outputTokens !== outputTokens)) throw new Error('every contract prompt must ask for the same number of output tokens');
  const result: ContractBenchResult = {
    kind: 'contracts',
    machine: describeMachine(),
    startedAt: new Date().toISOString(),
    modelDir: options.modelDir,
    gguf: options.gguf,
    slots: options.slots,
    threads: options.threads,
    requests: lengths.length,
    promptTokens: { min: Math.min(...lengths), max: Math.max(...lengths), total: lengths.reduce((a, b) => a + b, 0) },
    outputTokens,
    ours: null,
    llamaCpp: null,
    throughputRatio: null,
  };
  if (options.sides.ours) result.ours = await runOurs(options, log);
  if (options.sides.llamaCpp) {
    if (!options.gguf) throw new Error('the llama.cpp side needs a GGUF');
    log(`llama.cpp: ${options.prompts.length} prompts, ${options.slots} sequences, ${options.threads} threads`);
    const params: LlamaCppContractParams = {
      ggufPath: options.gguf,
      threads: options.threads,
      slots: options.slots,
      prompts: options.prompts.map((p) => p.promptTokenIds),
      outputTokens,
    };
    const run = await runInChildProcess<LlamaCppContractResult>(new URL(`../bench/llama-cpp-contracts.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url), params);
    result.llamaCpp = { ...summarize(run.wallSeconds, run.requests, run.cpuShare), run, meanTtftSeconds: mean(run.requests.map((r) => r.firstTokenAt - r.startedAt)) };
    log(`llama.cpp: ${run.wallSeconds.toFixed(1)} s (${run.build.cpuVariant} build, cpu share ${run.cpuShare.toFixed(2)})`);
  }
  return withRatio(result);
}

async function runOurs(options: ContractBenchOptions, log: (line: string) => void): Promise<OurContractResult> {
  const args = ['--model', options.modelDir, '--max-seqs', String(options.slots), '--threads', String(options.threads), ...options.serveArgs];
  log(`qwen3-serve serve ${args.join(' ')}`);
  const server = await startBatchBenchServer(args);
  try {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 10 * 60_000 });
    const model = (await client.models.list()).data[0].id;
    // A fresh session's first forward passes allocate and are slow: one short request first.
    await client.completions.create({ model, prompt: 'Warm-up.', max_tokens: 2, temperature: 0 });
    const lines = options.prompts.map((prompt, i) =>
      JSON.stringify({
        custom_id: `contract-${i}`,
        method: 'POST',
        url: '/v1/completions',
        body: { model, prompt: prompt.promptTokenIds, max_tokens: prompt.outputTokens, temperature: 0, ignore_eos: true },
      }),
    );
    const file = await client.files.create({ file: await toFile(Buffer.from(lines.join('\n')), 'contracts.jsonl'), purpose: 'batch' });
    const cpuBefore = await serverCpuSeconds(server.url);
    const loadStart = loadavg();
    const started = performance.now();
    let batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/completions', completion_window: '24h' });
    const completedAt: number[] = [];
    while (!['completed', 'failed', 'expired', 'cancelled'].includes(batch.status)) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      batch = await client.batches.retrieve(batch.id);
      const done = batch.request_counts?.completed ?? 0;
      const seconds = (performance.now() - started) / 1000;
      if (done > completedAt.length) log(`qwen3-serve: ${done}/${options.prompts.length} summaries after ${seconds.toFixed(0)} s`);
      while (completedAt.length < done) completedAt.push(seconds);
    }
    const wallSeconds = (performance.now() - started) / 1000;
    const cpuShare = ((await serverCpuSeconds(server.url)) - cpuBefore) / (wallSeconds * cpus().length);
    if (batch.status !== 'completed' || !batch.output_file_id) throw new Error(`the batch ended ${batch.status}: ${JSON.stringify(batch.errors ?? batch.request_counts)}`);
    if (batch.request_counts?.failed) throw new Error(`${batch.request_counts.failed} contract requests failed`);
    const output = (await (await client.files.content(batch.output_file_id)).text()).trim().split('\n').map((line) => JSON.parse(line) as BatchOutputLine);
    const requests = output.map((line) => requestTokens(line, options.prompts));
    const cachedPromptTokens = output.reduce((sum, line) => sum + (line.response?.body.usage.prompt_tokens_details?.cached_tokens ?? 0), 0);
    log(`qwen3-serve: ${wallSeconds.toFixed(1)} s (cpu share ${cpuShare.toFixed(2)}, ${cachedPromptTokens} prompt tokens from the prefix cache)`);
    return { ...summarize(wallSeconds, requests, cpuShare), serveArgs: server.args, cachedPromptTokens, completedAt, batchId: batch.id, loadAverage: { start: loadStart, end: loadavg() } };
  } finally {
    await server.stop();
  }
}

interface BatchOutputLine {
  custom_id: string;
  response: { status_code: number; body: { usage: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details?: { cached_tokens?: number } } } } | null;
  error: unknown;
}

/** A line's token counts, checked against the prompt it was sent: the workload must be the one asked for. */
function requestTokens(line: BatchOutputLine, prompts: BenchPrompt[]): Pick<ContractRequestTiming, 'promptTokens' | 'outputTokens'> {
  const prompt = prompts[Number(line.custom_id.replace('contract-', ''))];
  const usage = line.response?.body.usage;
  if (!prompt || line.response?.status_code !== 200 || !usage) throw new Error(`contract line ${line.custom_id} failed: ${JSON.stringify(line.error)}`);
  if (usage.prompt_tokens !== prompt.promptTokenIds.length || usage.completion_tokens !== prompt.outputTokens) {
    throw new Error(`contract line ${line.custom_id}: ${usage.prompt_tokens} + ${usage.completion_tokens} tokens, sent ${prompt.promptTokenIds.length} + ${prompt.outputTokens}`);
  }
  return { promptTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens };
}

/** The server's CPU seconds so far (prom-client's process_cpu_seconds_total). */
async function serverCpuSeconds(url: string): Promise<number> {
  const seconds = (await MetricsScrape.fetch(url)).value('process_cpu_seconds_total');
  if (seconds === undefined) throw new Error('the server exports no process_cpu_seconds_total');
  return seconds;
}

function summarize(wallSeconds: number, requests: Pick<ContractRequestTiming, 'promptTokens' | 'outputTokens'>[], cpuShare: number): ContractSideSummary {
  const promptTokens = requests.reduce((sum, r) => sum + r.promptTokens, 0);
  const outputTokens = requests.reduce((sum, r) => sum + r.outputTokens, 0);
  return {
    wallSeconds,
    requests: requests.length,
    promptTokens,
    outputTokens,
    tokensPerSecond: (promptTokens + outputTokens) / wallSeconds,
    outputTokensPerSecond: outputTokens / wallSeconds,
    requestsPerMinute: (60 * requests.length) / wallSeconds,
    cpuShare,
  };
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/**
 * Joins two runs of the same workload that each ran one side (a long benchmark split in two, or
 * resumed after the first side was saved). Refuses runs of different workloads or machines.
 */
export function mergeContractResults(first: ContractBenchResult, second: ContractBenchResult): ContractBenchResult {
  const workload = (r: ContractBenchResult) => JSON.stringify([r.machine.cpuModel, r.machine.cores, r.slots, r.threads, r.requests, r.promptTokens, r.outputTokens]);
  if (workload(first) !== workload(second)) throw new Error(`cannot merge contract runs of different workloads or machines: ${workload(first)} and ${workload(second)}`);
  return withRatio({ ...first, gguf: first.gguf ?? second.gguf, ours: second.ours ?? first.ours, llamaCpp: second.llamaCpp ?? first.llamaCpp });
}

function withRatio(result: ContractBenchResult): ContractBenchResult {
  return { ...result, throughputRatio: result.ours && result.llamaCpp ? result.ours.tokensPerSecond / result.llamaCpp.tokensPerSecond : null };
}
