import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dashboardQueries, selectedMetrics, variableQueries } from '../deploy/grafana/dashboard-queries.js';
import { DASHBOARD_JSON_PATH, dashboardJsonText } from '../deploy/grafana/write-dashboard.js';
import { GpuMetrics } from '../exporter/gpu/gpu-metrics.js';
import { ServerMetrics } from '../exporter/index.js';

/** Every series name our /metrics can expose: histograms as their _bucket, _sum and _count. */
async function exportedSeriesNames(): Promise<Set<string>> {
  const metrics = new ServerMetrics({ modelName: 'm', gpu: false });
  metrics.attachEngine({ info: { maxLen: 512, weightBytes: 1, kvReservedBytes: 1 }, onStep: () => {}, onRequestEnd: () => {} });
  // GPU families register once a GPU is seen; register them here as a GPU host would.
  new GpuMetrics(metrics.registry, 'm');
  const names = new Set<string>();
  // The exposition's own `# TYPE` lines: exactly the families a scrape sees.
  for (const [, name, type] of (await metrics.render()).matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    else names.add(name);
  }
  metrics.close();
  return names;
}

/** The metric names a set of PromQL expressions selects that /metrics does not export. */
function unknownMetrics(exprs: string[], exported: Set<string>): string[] {
  return [...new Set(exprs.flatMap(selectedMetrics))].filter((name) => !exported.has(name));
}

const committed = JSON.parse(readFileSync(DASHBOARD_JSON_PATH, 'utf8'));

describe('Grafana dashboard JSON', () => {
  it('the committed JSON is what deploy/grafana/dashboard.ts generates (run `npm run dashboard`)', () => {
    expect(readFileSync(DASHBOARD_JSON_PATH, 'utf8')).toBe(dashboardJsonText());
  });

  it('has the panels operators asked for and a model_name variable', () => {
    const titles = (committed.panels as { title: string; type: string }[]).filter((p) => p.type !== 'row').map((p) => p.title);
    for (const title of [
      'Tokens per second',
      'Time to first token',
      'Inter-token latency',
      'End-to-end latency',
      'Running vs waiting requests',
      'KV cache usage',
      'Batch size',
      'Preemptions',
      'Errors',
      'Process memory',
      'GPU utilisation',
      'GPU memory',
    ]) {
      expect(titles).toContain(title);
    }
    expect(variableQueries(committed)).toEqual([{ name: 'model_name', query: 'label_values(vllm:num_requests_running, model_name)' }]);
    const ttft = dashboardQueries(committed).filter((q) => q.panel === 'Time to first token').map((q) => q.expr);
    expect(ttft.map((e) => /histogram_quantile\(([\d.]+),/.exec(e)?.[1])).toEqual(['0.5', '0.95', '0.99']);
  });

  it('every query filters by $model_name and names only metrics /metrics exports', async () => {
    const queries = dashboardQueries(committed);
    expect(queries.length).toBeGreaterThan(30);
    for (const { expr } of queries) {
      expect(selectedMetrics(expr).length).toBeGreaterThan(0);
      // Each selector carries the variable: count selectors against filters.
      expect(expr.split('{').length - 1).toBe(expr.split('model_name=~"$model_name"').length - 1);
    }
    const exported = await exportedSeriesNames();
    expect(unknownMetrics([...queries.map((q) => q.expr), ...variableQueries(committed).map((v) => v.query.replace(/^label_values\((.*),.*\)$/, '$1{}'))], exported)).toEqual([]);
  });

  it('a query naming a metric we do not export is caught (negative check)', async () => {
    const exported = await exportedSeriesNames();
    const bad = [
      'sum(vllm:num_requests_swapped{model_name=~"$model_name"})',
      'histogram_quantile(0.5, sum by (le) (rate(vllm:time_per_output_token_seconds_bucket{model_name=~"$model_name"}[5m])))',
      // A histogram's family name is not a series: only _bucket, _sum and _count are.
      'rate(vllm:e2e_request_latency_seconds{model_name=~"$model_name"}[5m])',
    ];
    expect(unknownMetrics(bad, exported)).toEqual(['vllm:num_requests_swapped', 'vllm:time_per_output_token_seconds_bucket', 'vllm:e2e_request_latency_seconds']);
  });
});
