/**
 * The contract workload of issue 11 against llama.cpp, side by side in one run: contract
 * prompts of 2-4k tokens (the Qwen3 chat template around generated contract text, cut to exact
 * token lengths) with fixed-length summaries, through qwen3-serve's Batch API and through
 * llama.cpp with as many sequences as our server has rows, on the same token ids.
 *
 *   npx tsx loadtest/contract-workload.ts [--out results/contracts] [--requests 16] ...
 *
 * Without --model / --gguf it exports (once, cached under models/) the qwen3-4b shape with random
 * weights: int4 block 128 with the int8 prefill graph and the int8 KV cache, and a Q4_0 GGUF of
 * the same weights. Each side's result is saved as soon as it ends; --resume runs only the sides
 * the saved results.json lacks (the whole run took 48 minutes on a 2-core Zen 5, each side about
 * half). It writes results.json, report.md and completions.png (summaries done over time, both
 * engines).
 *
 * --batch-prefill-tokens: batch lines prefill at most this many tokens per engine step (default
 * 16, which keeps interactive requests responsive beside a batch). A server that runs only bulk
 * jobs can raise it to its --max-prefill-chunk; the report records what was passed.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadTokenizer } from '../src/model/tokenizer/load-tokenizer.js';
import { ensureBenchGguf, ensureBenchModel } from './bench/bench-models.js';
import { mergeContractResults, runContractBench, type ContractBenchResult } from './contracts/contract-bench.js';
import { renderContractChart } from './contracts/contract-plot.js';
import { formatContractBench } from './contracts/contract-report.js';
import { contractDataset } from './serve/datasets.js';

const { values: flags } = parseArgs({
  options: {
    model: { type: 'string' },
    gguf: { type: 'string' },
    out: { type: 'string', default: 'results/contracts' },
    requests: { type: 'string', default: '16' },
    'min-tokens': { type: 'string', default: '2048' },
    'max-tokens': { type: 'string', default: '4096' },
    'output-tokens': { type: 'string', default: '128' },
    'max-seqs': { type: 'string', default: '8' },
    threads: { type: 'string', default: '2' },
    'batch-prefill-tokens': { type: 'string' },
    'max-prefill-chunk': { type: 'string' },
    only: { type: 'string' },
    resume: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

const log = (line: string) => process.stderr.write(`[contracts] ${line}\n`);
const count = (name: keyof typeof flags) => {
  const value = Number(flags[name]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got ${flags[name]}`);
  return value;
};

async function main(): Promise<void> {
  if (flags.only && flags.only !== 'ours' && flags.only !== 'llama-cpp') throw new Error(`--only takes ours or llama-cpp, got ${flags.only}`);
  const modelDir = flags.model ?? ensureBenchModel({ preset: 'qwen3-4b', format: { bits: 4, blockSize: 128 }, seed: 0, prefillGraph: true, kvCache: 'int8' }, undefined, log);
  const gguf = flags.only === 'ours' ? null : (flags.gguf ?? ensureBenchGguf({ preset: 'qwen3-4b', type: 'q4_0', seed: 0 }, undefined, log));
  const prompts = contractDataset(await loadTokenizer(modelDir), {
    count: count('requests'),
    minTokens: count('min-tokens'),
    maxTokens: count('max-tokens'),
    outputTokens: count('output-tokens'),
    seed: 21,
  });
  const serveArgs: string[] = [];
  if (flags['batch-prefill-tokens']) serveArgs.push('--batch-prefill-tokens', String(count('batch-prefill-tokens')));
  if (flags['max-prefill-chunk']) serveArgs.push('--max-prefill-chunk', String(count('max-prefill-chunk')));

  const resultsPath = join(flags.out!, 'results.json');
  let saved: ContractBenchResult | null = flags.resume && existsSync(resultsPath) ? (JSON.parse(readFileSync(resultsPath, 'utf8')) as ContractBenchResult) : null;
  const want = { ours: flags.only !== 'llama-cpp', llamaCpp: flags.only !== 'ours' };
  mkdirSync(flags.out!, { recursive: true });
  // One side at a time, each saved as soon as it ends.
  for (const side of ['ours', 'llamaCpp'] as const) {
    if (!want[side] || saved?.[side]) continue;
    const run = await runContractBench({
      prompts,
      modelDir,
      serveArgs,
      gguf,
      slots: count('max-seqs'),
      threads: count('threads'),
      sides: { ours: side === 'ours', llamaCpp: side === 'llamaCpp' },
      log,
    });
    saved = saved ? mergeContractResults(saved, run) : run;
    writeFileSync(resultsPath, `${JSON.stringify(saved, null, 2)}\n`);
  }
  if (!saved) throw new Error('nothing to run');
  const report = formatContractBench(saved);
  writeFileSync(join(flags.out!, 'report.md'), report);
  writeFileSync(join(flags.out!, 'completions.png'), await renderContractChart(saved));
  process.stdout.write(flags.json ? `${JSON.stringify(saved, null, 2)}\n` : report);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
