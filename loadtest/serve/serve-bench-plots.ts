import type { TopLevelSpec } from 'vega-lite';
import { renderChartPng } from './png-chart.js';
import type { ModelServeResult, ScenarioResult, ServeBenchResult } from './serve-bench.js';

/** The figures of a serving benchmark, each a PNG file name and its bytes. */
export interface ChartFile {
  name: string;
  /** What it shows, for the report's alt text. */
  title: string;
  png: Buffer;
}

interface Point {
  model: string;
  series: string;
  concurrency: number;
  value: number;
}

/** Concurrency sweep levels of a server run (scenarios named 'random c=N' with a closed-loop shape). */
function sweepLevels(run: { scenarios: ScenarioResult[] } | null): { concurrency: number; scenario: ScenarioResult }[] {
  if (!run) return [];
  return run.scenarios.flatMap((scenario) => (scenario.dataset === 'random' && scenario.shape.kind === 'concurrency' ? [{ concurrency: scenario.shape.concurrency, scenario }] : []));
}

/** Output throughput of the server, the server without batching, and transformers.js served one by one. */
function throughputPoints(model: ModelServeResult): Point[] {
  const points: Point[] = sweepLevels(model.batching).map(({ concurrency, scenario }) => ({ model: model.label, series: 'qwen3-serve (batching)', concurrency, value: scenario.metrics.outputThroughput }));
  for (const { concurrency, scenario } of sweepLevels(model.noBatching)) points.push({ model: model.label, series: 'qwen3-serve --max-seqs 1', concurrency, value: scenario.metrics.outputThroughput });
  for (const estimate of model.transformers?.estimates ?? []) points.push({ model: model.label, series: 'transformers.js, one at a time', concurrency: estimate.concurrency, value: estimate.outputThroughput });
  return points;
}

/** Latency series of the batching server, and the same series of the server without batching (marked so). */
function latencyPoints(model: ModelServeResult, pick: (s: ScenarioResult) => { label: string; value: number }[]): Point[] {
  const points = (run: ModelServeResult['noBatching'], suffix: string) =>
    sweepLevels(run).flatMap(({ concurrency, scenario }) => pick(scenario).map(({ label, value }) => ({ model: model.label, series: `${label}${suffix}`, concurrency, value })));
  return [...points(model.batching, ''), ...points(model.noBatching, ', --max-seqs 1')];
}

function lineChart(title: string, yTitle: string, points: Point[], options: { logY?: boolean; models: number }): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, fontSize: 15 },
    // A log axis cannot show 0 (e.g. no ITL when every request made one token).
    data: { values: options.logY ? points.filter((p) => p.value > 0) : points },
    facet: { column: { field: 'model', type: 'nominal', title: null, header: { labelFontSize: 13 } } },
    spec: {
      width: options.models > 1 ? 340 : 480,
      height: 260,
      mark: { type: 'line', point: { size: 50 }, strokeWidth: 2 },
      encoding: {
        x: { field: 'concurrency', type: 'quantitative', title: 'concurrent requests', scale: { type: 'log', base: 2 }, axis: { values: [1, 2, 4, 8, 16, 32, 64], format: 'd' } },
        y: { field: 'value', type: 'quantitative', title: yTitle, scale: options.logY ? { type: 'log' } : { zero: true } },
        color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 300, columns: 3 } },
      },
    },
    config: { font: 'DejaVu Sans', axis: { labelFontSize: 11, titleFontSize: 12 } },
  } as TopLevelSpec;
}

/** Throughput, TTFT and ITL/TPOT against concurrency, one panel per model. */
export async function renderServeCharts(result: ServeBenchResult): Promise<ChartFile[]> {
  const models = result.models;
  const sweep = result.options.sweep;
  const shape = `random prompts, ${sweep.inputTokens} tokens in, ${sweep.outputTokens} out`;
  const charts: { name: string; title: string; spec: TopLevelSpec }[] = [
    {
      name: 'throughput.png',
      title: `Output throughput vs concurrency (${shape})`,
      spec: lineChart(`Output tokens/s vs concurrency (${shape})`, 'output tokens / s', models.flatMap(throughputPoints), { models: models.length }),
    },
    {
      name: 'ttft.png',
      title: 'Time to first token vs concurrency',
      spec: lineChart(
        `Time to first token vs concurrency (${shape})`,
        'TTFT, s (log scale)',
        models.flatMap((m) =>
          latencyPoints(m, (s) => [
            { label: 'TTFT median', value: s.metrics.ttftMs.median / 1000 },
            { label: 'TTFT mean', value: s.metrics.ttftMs.mean / 1000 },
            { label: 'TTFT p99', value: s.metrics.ttftMs.p99 / 1000 },
          ]),
        ),
        { logY: true, models: models.length },
      ),
    },
    {
      name: 'itl.png',
      title: 'Inter-token latency and TPOT vs concurrency',
      spec: lineChart(
        `Inter-token latency vs concurrency (${shape})`,
        'ms (log scale)',
        models.flatMap((m) =>
          latencyPoints(m, (s) => [
            { label: 'ITL median', value: s.metrics.itlMs.median },
            { label: 'ITL p99', value: s.metrics.itlMs.p99 },
            { label: 'TPOT mean', value: s.metrics.tpotMs.mean },
          ]),
        ),
        { logY: true, models: models.length },
      ),
    },
  ];
  const files: ChartFile[] = [];
  for (const chart of charts) files.push({ name: chart.name, title: chart.title, png: await renderChartPng(chart.spec) });
  return files;
}
