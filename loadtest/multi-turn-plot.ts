/**
 * Time to first token per turn from `loadtest/multi-turn.ts --json` results, one line per engine
 * and mode (ours with prefix caching on and off, llama.cpp), with twice turn 1's TTFT of ours
 * (caching on) as the issue's bound for turn 10: the plot BENCHMARKS.md shows beside the table.
 *
 *   npx tsx loadtest/multi-turn-plot.ts --out ttft.png results.json
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { TopLevelSpec } from 'vega-lite';
import type { LlamaCppTurn } from './bench/llama-cpp-multi-turn.js';
import type { TurnResult } from './multi-turn-chat.js';
import { renderChartPng } from './serve/png-chart.js';

interface MultiTurnJson {
  modes: { prefixCaching: boolean; turns: TurnResult[] }[];
  llamaCpp: { turns: LlamaCppTurn[]; build: { cpuVariant: string } } | null;
}

const { values, positionals } = parseArgs({ options: { out: { type: 'string' } }, allowPositionals: true });
if (!values.out || positionals.length !== 1) throw new Error('usage: --out ttft.png results.json');
const result = JSON.parse(readFileSync(positionals[0], 'utf8')) as MultiTurnJson;
const points = [
  ...result.modes.flatMap((mode) => mode.turns.map((t) => ({ engine: `qwen3-serve, prefix caching ${mode.prefixCaching ? 'on' : 'off'}`, turn: t.turn, seconds: t.ttftMs / 1000 }))),
  ...(result.llamaCpp?.turns.map((t) => ({ engine: `llama.cpp (${result.llamaCpp!.build.cpuVariant})`, turn: t.turn, seconds: t.ttftMs / 1000 })) ?? []),
];
const on = result.modes.find((mode) => mode.prefixCaching);
const spec: TopLevelSpec = {
  title: 'Time to first token per turn of a growing chat',
  width: 420,
  height: 240,
  layer: [
    {
      data: { values: points },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'turn', type: 'ordinal', title: 'turn', axis: { labelAngle: 0 } },
        y: { field: 'seconds', type: 'quantitative', title: 'TTFT (s)' },
        color: { field: 'engine', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 400 } },
      },
    },
    ...(on
      ? [
          {
            data: { values: [{ bound: (2 * on.turns[0].ttftMs) / 1000 }] },
            mark: { type: 'rule' as const, strokeDash: [4, 4], color: 'gray' },
            encoding: { y: { field: 'bound', type: 'quantitative' as const } },
          },
        ]
      : []),
  ],
};
writeFileSync(values.out, await renderChartPng(spec));
console.log(`wrote ${values.out}: ${points.length} points`);
