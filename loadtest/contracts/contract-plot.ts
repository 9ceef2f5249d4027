import type { TopLevelSpec } from 'vega-lite';
import { renderChartPng } from '../serve/png-chart.js';
import type { ContractBenchResult } from './contract-bench.js';

interface CompletionPoint {
  engine: string;
  seconds: number;
  summaries: number;
}

/**
 * Summaries done over time, one step line per engine: the wall times the throughput ratio comes
 * from, and how each engine spreads its work (ours finishes in waves of rows; llama.cpp's
 * sequences end as their prompts do). Both clocks start when the work is handed over: our batch
 * created, llama.cpp's first sequence given its prompt.
 */
export function contractCompletionPoints(result: ContractBenchResult): CompletionPoint[] {
  const curves: [string, number[]][] = [];
  if (result.ours) curves.push(['qwen3-serve', [...result.ours.completedAt].sort((a, b) => a - b)]);
  if (result.llamaCpp) curves.push(['llama.cpp', result.llamaCpp.run.requests.map((r) => r.finishedAt).sort((a, b) => a - b)]);
  return curves.flatMap(([engine, times]) => [{ engine, seconds: 0, summaries: 0 }, ...times.map((seconds, i) => ({ engine, seconds: Math.round(seconds * 10) / 10, summaries: i + 1 }))]);
}

/** The completion chart as a PNG. */
export async function renderContractChart(result: ContractBenchResult): Promise<Buffer> {
  const spec: TopLevelSpec = {
    title: `${result.requests} contracts of ${result.promptTokens.min}-${result.promptTokens.max} tokens, ${result.outputTokens}-token summaries, ${result.slots} rows / sequences`,
    width: 460,
    height: 260,
    data: { values: contractCompletionPoints(result) },
    mark: { type: 'line', interpolate: 'step-after', point: true },
    encoding: {
      x: { field: 'seconds', type: 'quantitative', title: 'seconds since the work was handed over' },
      y: { field: 'summaries', type: 'quantitative', title: 'summaries done' },
      color: { field: 'engine', type: 'nominal', title: null, legend: { orient: 'bottom' } },
    },
  };
  return renderChartPng(spec);
}
