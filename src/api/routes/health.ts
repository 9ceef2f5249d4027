import type { Hono } from 'hono';
import type { AppEnv } from '../http/app-env.js';
import type { Readiness } from '../schemas/health.js';
import type { RouteOptions } from './route-options.js';

/**
 * GET /health: liveness, 200 whenever the process answers. GET /ready: 200 only while new work
 * is accepted, 503 while loading, draining or after a failed load (load balancers stop sending).
 */
export function registerHealth(app: Hono<AppEnv>, options: RouteOptions): void {
  app.get('/health', (c) => c.json({ status: 'ok' as const }));
  app.get('/ready', (c) => {
    const { state } = options;
    const body: Readiness = { status: state.phase, model: state.model?.name ?? null };
    if (state.failureMessage !== null) body.error = state.failureMessage;
    return c.json(body, state.phase === 'ready' ? 200 : 503);
  });
}
