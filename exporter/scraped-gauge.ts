import { Gauge, type Registry } from 'prom-client';

/**
 * A gauge labelled by `model_name` whose value is read when the registry is scraped: prom-client
 * calls `collect` before every exposition, so figures that are cheap to read (process memory, the
 * last closed lag window) are never stale and cost nothing between scrapes.
 */
export function scrapedGauge(registry: Registry, modelName: string, name: string, help: string, read: () => number): Gauge<string> {
  const labels = { model_name: modelName };
  return new Gauge({
    name,
    help,
    labelNames: ['model_name'],
    registers: [registry],
    collect() {
      this.set(labels, read());
    },
  });
}
