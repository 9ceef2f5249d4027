/**
 * The PromQL a dashboard JSON asks Prometheus for: every panel target's `expr` (panels inside
 * collapsed rows included) and every query variable's query. Read from the JSON itself, so a test
 * checks exactly what Grafana would run.
 */

export interface DashboardQuery {
  panel: string;
  refId: string;
  expr: string;
}

interface PanelJson {
  title?: string;
  targets?: { refId?: string; expr?: string }[];
  panels?: PanelJson[];
}

export function dashboardQueries(dashboard: { panels?: PanelJson[] }): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  const visit = (panels: PanelJson[]) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (target.expr) queries.push({ panel: panel.title ?? '', refId: target.refId ?? '', expr: target.expr });
      }
      visit(panel.panels ?? []);
    }
  };
  visit(dashboard.panels ?? []);
  return queries;
}

/** Query variables' queries, e.g. `label_values(vllm:num_requests_running, model_name)`. */
export function variableQueries(dashboard: { templating?: { list?: { name: string; type: string; query?: unknown }[] } }): { name: string; query: string }[] {
  return (dashboard.templating?.list ?? [])
    .filter((v) => v.type === 'query' && typeof v.query === 'string')
    .map((v) => ({ name: v.name, query: v.query as string }));
}

/**
 * Metric names a PromQL expression selects: identifiers directly followed by a `{` selector (our
 * queries always filter by model_name, so every metric has one).
 */
export function selectedMetrics(expr: string): string[] {
  return [...new Set([...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{/g)].map((m) => m[1]))];
}
