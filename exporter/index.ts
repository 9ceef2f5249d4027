/**
 * exporter/: the server's Prometheus metrics. The only place that imports prom-client; the API
 * sees it through src/api/observability.ts (HttpObserver, MetricsRenderer).
 */
export { ServerMetrics, type ObservableEngine, type ServerMetricsOptions } from './server-metrics.js';
export type { MetricsLogger } from './metrics-logger.js';
export { GPU_QUERY_FIELDS, gpuReadings, parseNvidiaSmiCsv, type GpuReading } from './gpu/nvidia-smi-csv.js';
