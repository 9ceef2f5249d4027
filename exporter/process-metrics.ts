import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client's default collectors, the series every Prometheus client library exports under the
 * same names (`process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_open_fds`,
 * `nodejs_heap_size_used_bytes`, `nodejs_gc_duration_seconds`, `nodejs_eventloop_lag_*`, ...), so
 * stock Node.js and process dashboards and alerts work on this server as they are.
 *
 * They sit beside our own `qwen3_serve_*` memory and lag gauges, which stay: the names differ (no
 * clash in one registry), and ours differ in meaning where it matters. Our lag gauges summarise a
 * fixed 5 s window that every scraper sees alike, whereas `nodejs_eventloop_lag_*` covers the time
 * since the previous scrape of any scraper. Every series also carries `model_name`, as all of this
 * server's series do, so one dashboard variable filters them together.
 *
 * The collectors read their values when scraped (nothing runs between scrapes except Node's own
 * delay monitor and GC observer, which prom-client gives no way to stop: a process keeps them for
 * its life, one pair per registry).
 */
export function registerProcessMetrics(registry: Registry, modelName: string): void {
  collectDefaultMetrics({ register: registry, labels: { model_name: modelName } });
}
