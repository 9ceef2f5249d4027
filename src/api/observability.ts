import type { ErrorType } from '../errors.js';

/**
 * What the HTTP layer reports about itself. exporter/ implements it with prom-client; the API
 * never imports a metrics library, and runs fine without an observer.
 */
export interface HttpObserver {
  /** One answered HTTP exchange. `route` is the matched route pattern, never the raw path. */
  httpRequest(exchange: { route: string; method: string; status: number; durationSeconds: number }): void;
  /** An error answered to a client, by its stable ServeError type and code. */
  errorAnswered(error: { type: ErrorType; code: string | null }): void;
}

/** Renders the Prometheus exposition text served at GET /metrics. */
export interface MetricsRenderer {
  readonly contentType: string;
  render(): Promise<string>;
}
