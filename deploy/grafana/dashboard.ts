import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
  type Dashboard,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

/**
 * The qwen3-serve Grafana dashboard, as typed code (grafana-foundation-sdk). The committed JSON in
 * deploy/grafana/dashboards/ is generated from this (`npm run dashboard`); a test fails when it is
 * stale, and another evaluates every query below against a real Prometheus scraping the server.
 *
 * Queries read vLLM's metric names where vLLM has them, so the same panels work on a vLLM server.
 * Every selector filters by the `model_name` template variable.
 */

export const DASHBOARD_UID = 'qwen3-serve';

/** The Prometheus data source is chosen by a variable, so the JSON imports into any Grafana. */
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

/** Applied to every selector: the `model_name` variable (multi-value, so a regex match). */
const M = 'model_name=~"$model_name"';

/** Grafana picks a rate window that always spans a few scrapes. */
const RATE = '$__rate_interval';

const rate = (metric: string) => `rate(${metric}{${M}}[${RATE}])`;

/** A latency quantile over all series of the selected models. */
const quantile = (q: number, histogram: string, by: string[] = []) =>
  `histogram_quantile(${q}, sum by (${['le', ...by].join(', ')}) (${rate(`${histogram}_bucket`)}))`;

/** Mean of a histogram over the rate window: sum of values / number of observations. */
const mean = (histogram: string) => `sum(${rate(`${histogram}_sum`)}) / sum(${rate(`${histogram}_count`)})`;

interface Query {
  expr: string;
  legend: string;
}

/** A time-series panel with its queries (refIds A, B, ...) and a unit. */
function timeseries(title: string, description: string, unit: string, queries: Query[], options: { min?: number; max?: number } = {}) {
  const panel = new TimeseriesPanelBuilder()
    .id(nextPanelId())
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .height(8)
    .span(8)
    .legend(new common.VizLegendOptionsBuilder().displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom).showLegend(true))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
  if (options.min !== undefined) panel.min(options.min);
  if (options.max !== undefined) panel.max(options.max);
  queries.forEach((query, i) => {
    panel.withTarget(
      new DataqueryBuilder()
        .datasource(DATASOURCE)
        .expr(query.expr)
        .legendFormat(query.legend)
        .refId(String.fromCharCode(65 + i)),
    );
  });
  return panel;
}

/** Panel ids, unique within the dashboard (Grafana links and edits panels by id). */
let panelIdCounter = 0;
const nextPanelId = () => ++panelIdCounter;
const row = (title: string) => new RowBuilder(title).id(nextPanelId());

const percentiles = (histogram: string): Query[] =>
  [0.5, 0.95, 0.99].map((q) => ({ expr: quantile(q, histogram), legend: `p${Math.round(q * 100)}` }));

export function buildDashboard(): Dashboard {
  panelIdCounter = 0;
  return new DashboardBuilder('qwen3-serve')
    .uid(DASHBOARD_UID)
    .description('Tokens, latency, queue, KV cache, engine, memory and GPU of qwen3-serve (vLLM-compatible metric names).')
    .tags(['qwen3-serve', 'llm', 'vllm'])
    .refresh('10s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .withVariable(
      new QueryVariableBuilder('model_name')
        .label('Model')
        .datasource(DATASOURCE)
        .query('label_values(vllm:num_requests_running, model_name)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.*'),
    )
    .withRow(row('Throughput'))
    .withPanel(
      timeseries('Tokens per second', 'Prompt tokens computed and tokens generated per second.', 'suffix: tok/s', [
        { expr: `sum(${rate('vllm:prompt_tokens_total')})`, legend: 'prompt' },
        { expr: `sum(${rate('vllm:generation_tokens_total')})`, legend: 'generation' },
      ]),
    )
    .withPanel(
      timeseries('Finished requests', 'Requests ended per second, by finish reason.', 'reqps', [
        { expr: `sum by (finished_reason) (${rate('vllm:request_success_total')})`, legend: '{{finished_reason}}' },
      ]),
    )
    .withPanel(
      timeseries('Tokens per request', 'Median prompt and generated tokens of finished requests.', 'short', [
        { expr: quantile(0.5, 'vllm:request_prompt_tokens'), legend: 'prompt p50' },
        { expr: quantile(0.5, 'vllm:request_generation_tokens'), legend: 'generation p50' },
      ]),
    )
    .withRow(row('Latency'))
    .withPanel(timeseries('Time to first token', 'From arrival to the first generated token.', 's', percentiles('vllm:time_to_first_token_seconds')))
    .withPanel(timeseries('Inter-token latency', 'Gap between consecutive tokens of one sequence.', 's', percentiles('vllm:inter_token_latency_seconds')))
    .withPanel(timeseries('End-to-end latency', 'From arrival to the last token.', 's', percentiles('vllm:e2e_request_latency_seconds')))
    .withPanel(
      timeseries('Request phases (mean)', 'Mean time per request waiting, prefilling and decoding.', 's', [
        { expr: mean('vllm:request_queue_time_seconds'), legend: 'queue' },
        { expr: mean('vllm:request_prefill_time_seconds'), legend: 'prefill' },
        { expr: mean('vllm:request_decode_time_seconds'), legend: 'decode' },
      ]),
    )
    .withRow(row('Scheduler and KV cache'))
    .withPanel(
      timeseries('Running vs waiting requests', 'Requests holding a KV row, and requests queued (preempted included).', 'short', [
        { expr: `sum(vllm:num_requests_running{${M}})`, legend: 'running' },
        { expr: `sum(vllm:num_requests_waiting{${M}})`, legend: 'waiting' },
      ]),
    )
    .withPanel(
      timeseries('KV cache usage', 'Share of the KV cache budget holding computed tokens.', 'percentunit', [
        { expr: `max(vllm:kv_cache_usage_perc{${M}})`, legend: 'usage' },
      ], { min: 0, max: 1 }),
    )
    .withPanel(
      timeseries('Preemptions', 'Running requests preempted per second to make room in the KV cache.', 'short', [
        { expr: `sum(${rate('vllm:num_preemptions_total')})`, legend: 'preemptions/s' },
      ]),
    )
    .withPanel(
      timeseries(
        'Prefix cache',
        'Prompt tokens looked up in the prefix cache per second, and those found there (not computed again): their ratio is the hit rate.',
        'suffix: tok/s',
        [
          { expr: `sum(${rate('vllm:prefix_cache_queries_total')})`, legend: 'queried' },
          { expr: `sum(${rate('vllm:prefix_cache_hits_total')})`, legend: 'hit' },
        ],
      ),
    )
    .withRow(row('Engine'))
    .withPanel(
      timeseries('Batch size', 'Sequences per engine step (decode rows plus prefill chunks).', 'short', [
        { expr: mean('qwen3_serve_batch_size'), legend: 'mean' },
        { expr: quantile(0.95, 'qwen3_serve_batch_size'), legend: 'p95' },
        { expr: quantile(0.5, 'vllm:iteration_tokens_total'), legend: 'tokens per step p50' },
      ]),
    )
    .withPanel(
      timeseries('Step time', 'Engine step duration, and the part of it outside the model (engine overhead).', 's', [
        { expr: quantile(0.5, 'qwen3_serve_step_duration_seconds'), legend: 'step p50' },
        { expr: quantile(0.95, 'qwen3_serve_step_duration_seconds'), legend: 'step p95' },
        { expr: quantile(0.95, 'qwen3_serve_engine_overhead_seconds'), legend: 'overhead p95' },
      ]),
    )
    .withPanel(
      timeseries('Event-loop lag', 'Main-thread event-loop delay (HTTP and streaming run there; the engine runs in a worker).', 's', [
        { expr: `max(qwen3_serve_event_loop_lag_p99_seconds{${M}})`, legend: 'p99' },
        { expr: `max(qwen3_serve_event_loop_lag_max_seconds{${M}})`, legend: 'max' },
      ]),
    )
    .withRow(row('HTTP and errors'))
    .withPanel(
      timeseries('HTTP requests', 'Answered requests per second by route and status.', 'reqps', [
        { expr: `sum by (route, status) (${rate('qwen3_serve_http_requests_total')})`, legend: '{{route}} {{status}}' },
      ]),
    )
    .withPanel(
      timeseries('HTTP latency p95', 'Time to answer (to the end of a streamed body), by route.', 's', [
        { expr: quantile(0.95, 'qwen3_serve_http_request_duration_seconds', ['route']), legend: '{{route}}' },
      ]),
    )
    .withPanel(
      timeseries('Errors', 'Errors answered per second, by error type.', 'reqps', [
        { expr: `sum by (type) (${rate('qwen3_serve_errors_total')})`, legend: '{{type}}' },
      ]),
    )
    .withRow(row('Memory'))
    .withPanel(
      timeseries('Process memory', 'Resident set of the whole process; V8 heap and off-heap buffers of the main thread.', 'bytes', [
        { expr: `sum(qwen3_serve_process_resident_memory_bytes{${M}})`, legend: 'resident' },
        { expr: `sum(qwen3_serve_heap_used_bytes{${M}})`, legend: 'heap used' },
        { expr: `sum(qwen3_serve_heap_total_bytes{${M}})`, legend: 'heap total' },
        { expr: `sum(qwen3_serve_external_memory_bytes{${M}})`, legend: 'external' },
        { expr: `sum(qwen3_serve_array_buffers_bytes{${M}})`, legend: 'array buffers' },
      ]),
    )
    .withPanel(
      timeseries('Model and KV cache memory', 'Model weights, KV cache allocated, budgeted and in use.', 'bytes', [
        { expr: `sum(qwen3_serve_model_weight_bytes{${M}})`, legend: 'weights' },
        { expr: `sum(qwen3_serve_kv_cache_allocated_bytes{${M}})`, legend: 'KV allocated' },
        { expr: `sum(qwen3_serve_kv_cache_budget_bytes{${M}})`, legend: 'KV budget' },
        { expr: `sum(qwen3_serve_kv_cache_used_bytes{${M}})`, legend: 'KV in use' },
      ]),
    )
    .withRow(row('GPU'))
    .withPanel(
      timeseries('GPU utilisation', 'Share of time a kernel ran, per GPU (nvidia-smi).', 'percentunit', [
        { expr: `max by (index, name) (qwen3_serve_gpu_utilization_ratio{${M}})`, legend: 'GPU {{index}} {{name}}' },
      ], { min: 0, max: 1 }),
    )
    .withPanel(
      timeseries('GPU memory', 'Memory used and installed, per GPU.', 'bytes', [
        { expr: `max by (index, name) (qwen3_serve_gpu_memory_used_bytes{${M}})`, legend: 'used GPU {{index}}' },
        { expr: `max by (index, name) (qwen3_serve_gpu_memory_total_bytes{${M}})`, legend: 'total GPU {{index}}' },
      ]),
    )
    .withPanel(
      timeseries('GPU temperature and power', 'Core temperature (C) and board power draw (W), per GPU.', 'short', [
        { expr: `max by (index, name) (qwen3_serve_gpu_temperature_celsius{${M}})`, legend: '°C GPU {{index}}' },
        { expr: `max by (index, name) (qwen3_serve_gpu_power_draw_watts{${M}})`, legend: 'W GPU {{index}}' },
      ]),
    )
    .build();
}
