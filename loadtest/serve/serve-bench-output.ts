import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderServeCharts } from './serve-bench-plots.js';
import { formatServeBench } from './serve-bench-report.js';
import type { ServeBenchResult } from './serve-bench.js';

export interface ServeBenchFiles {
  dir: string;
  json: string;
  markdown: string;
  charts: string[];
  /** The Markdown report (also in `markdown`). */
  report: string;
}

/**
 * Writes a run's results folder: results.json (every request's timings), report.md (the tables,
 * with the figures linked beside it) and the PNG figures. `command` is recorded at the top of
 * the report so the run can be reproduced.
 */
export async function writeServeBenchOutputs(result: ServeBenchResult, dir: string, command: string): Promise<ServeBenchFiles> {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'results.json');
  writeFileSync(json, `${JSON.stringify({ command, ...result }, null, 2)}\n`);
  const charts = await renderServeCharts(result);
  for (const chart of charts) writeFileSync(join(dir, chart.name), chart.png);
  const report = `Command: \`${command}\`\n\n${formatServeBench(result, charts)}\n`;
  const markdown = join(dir, 'report.md');
  writeFileSync(markdown, report);
  return { dir, json, markdown, charts: charts.map((c) => join(dir, c.name)), report };
}
