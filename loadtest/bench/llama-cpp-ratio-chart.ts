/**
 * A bar chart of `bench model` results as ratios to llama.cpp from the same run, one bar per
 * workload and run, with the goal for each workload as a tick: the plot BENCHMARKS.md
 * shows beside its tables. Every input must be a `bench model` JSON whose model has a llama.cpp
 * peer (`--formats`, not `--model-dir`); each run is compared only with its own peer.
 *
 *   npx tsx loadtest/bench/llama-cpp-ratio-chart.ts --out chart.png label=results/a.json label2=results/b.json
 *   npx tsx loadtest/bench/llama-cpp-ratio-chart.ts --out chart.png run=bench-model.json:'float KV,int8 KV'   (one run, two models)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { TopLevelSpec } from 'vega-lite';
import { renderChartPng } from '../serve/png-chart.js';

interface Rate {
  tokPerSec?: number;
  bestTokPerSec?: number;
  meanTtftSeconds?: number;
}
interface BenchModelJson {
  models: Array<{ decode: Rate; longDecode: Rate; prefill: Rate & { tokens: number }; chunkedPrefill: Rate & { chunkTokens: number }; sequences: Rate; llamaCpp?: { decode: Rate; longDecode: Rate; prefill: Rate; sequences: Rate } }>;
}

/** Each workload: how to read our figure and llama.cpp's, whether lower is better, and the goal as a ratio. */
const WORKLOADS = [
  { name: 'decode, short prompt', ours: (m: Model) => m.decode.tokPerSec, peer: (m: Model) => m.llamaCpp!.decode.tokPerSec, goal: 1.0 },
  { name: 'decode, 2k context', ours: (m: Model) => m.longDecode.tokPerSec, peer: (m: Model) => m.llamaCpp!.longDecode.tokPerSec, goal: 1.2 },
  { name: 'prefill, one shot', ours: (m: Model) => m.prefill.bestTokPerSec, peer: (m: Model) => m.llamaCpp!.prefill.bestTokPerSec, goal: 1.5 },
  { name: 'prefill, server chunks', ours: (m: Model) => m.chunkedPrefill.bestTokPerSec, peer: (m: Model) => m.llamaCpp!.prefill.bestTokPerSec, goal: 1.5 },
  { name: '8 seqs: throughput', ours: (m: Model) => m.sequences.tokPerSec, peer: (m: Model) => m.llamaCpp!.sequences.tokPerSec, goal: 1.5 },
  // TTFT: lower is better, so the bar is llama.cpp's over ours (the goal "<= 0.5x" becomes >= 2).
  { name: '8 seqs: TTFT (inverse)', ours: (m: Model) => m.llamaCpp!.sequences.meanTtftSeconds, peer: (m: Model) => m.sequences.meanTtftSeconds, goal: 2.0 },
] as const;
type Model = BenchModelJson['models'][number];

const { values, positionals } = parseArgs({ options: { out: { type: 'string' } }, allowPositionals: true });
if (!values.out || positionals.length === 0) throw new Error('usage: --out chart.png label=bench-model.json ...');
const rows: Array<{ workload: string; run: string; ratio: number }> = [];
for (const arg of positionals) {
  // label=file.json, or label=file.json:a,b to name each model of a run that measured several.
  const [label, target] = arg.split('=');
  const [file, names] = target.split(':');
  const models = (JSON.parse(readFileSync(file, 'utf8')) as BenchModelJson).models;
  const modelNames = names?.split(',') ?? [];
  models.forEach((model, i) => {
    if (!model.llamaCpp) throw new Error(`${file} has no llama.cpp peer for model ${i}`);
    const run = models.length === 1 ? label : `${label} ${modelNames[i] ?? i + 1}`;
    for (const w of WORKLOADS) {
      const [ours, peer] = [w.ours(model), w.peer(model)];
      if (ours !== undefined && peer !== undefined) rows.push({ workload: w.name, run, ratio: Math.round((ours / peer) * 100) / 100 });
    }
  });
}
const spec: TopLevelSpec = {
  title: 'qwen3-4b int4 vs llama.cpp Q4_0, same run each (above 1 = we are faster)',
  width: 420,
  height: 260,
  layer: [
    {
      data: { values: rows },
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'workload', type: 'nominal', sort: WORKLOADS.map((w) => w.name), title: null },
        yOffset: { field: 'run', type: 'nominal' },
        x: { field: 'ratio', type: 'quantitative', title: 'ours / llama.cpp' },
        color: { field: 'run', type: 'nominal', title: 'run', legend: { orient: 'bottom', labelLimit: 400 } },
      },
    },
    {
      data: { values: WORKLOADS.map((w) => ({ workload: w.name, goal: w.goal })) },
      mark: { type: 'tick', color: 'black', thickness: 2 },
      encoding: { y: { field: 'workload', type: 'nominal', sort: WORKLOADS.map((w) => w.name) }, x: { field: 'goal', type: 'quantitative' } },
    },
  ],
};
writeFileSync(values.out, await renderChartPng(spec));
console.log(`wrote ${values.out}: ${rows.length} bars`);
