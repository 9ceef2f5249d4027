import type { Hono } from 'hono';
import type { AppEnv } from '../http/app-env.js';
import type { MetricsRenderer } from '../observability.js';

/** GET /metrics: the Prometheus text of the renderer exporter/ provides (absent: no route, 404). */
export function registerMetrics(app: Hono<AppEnv>, metrics: MetricsRenderer | undefined): void {
  if (!metrics) return;
  app.get('/metrics', async (c) => c.body(await metrics.render(), 200, { 'content-type': metrics.contentType }));
}
