import { Counter, Histogram, type Registry } from 'prom-client';
import type { HttpObserver } from '../src/api/observability.js';
import { ERROR_TYPES, type ErrorType } from '../src/errors.js';

/** HTTP answer time: from sub-millisecond health checks to long streamed generations. */
export const HTTP_DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * The HTTP layer's metrics: requests by route pattern, method and status, their duration, and
 * errors answered by their stable ServeError type. The route label is the matched pattern (the
 * API's contract), so label cardinality stays bounded whatever paths clients send.
 */
export class HttpMetrics implements HttpObserver {
  private readonly modelName: string;
  private readonly requests: Counter<string>;
  private readonly duration: Histogram<string>;
  private readonly errors: Counter<string>;

  constructor(registry: Registry, modelName: string) {
    this.modelName = modelName;
    const registers = [registry];
    this.requests = new Counter({
      name: 'qwen3_serve_http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status code.',
      labelNames: ['model_name', 'route', 'method', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'qwen3_serve_http_request_duration_seconds',
      help: 'Time to answer an HTTP request (to the end of a streamed body), by route pattern and method.',
      labelNames: ['model_name', 'route', 'method'],
      buckets: [...HTTP_DURATION_BUCKETS],
      registers,
    });
    this.errors = new Counter({
      name: 'qwen3_serve_errors_total',
      help: 'Errors answered to clients, by ServeError type and code.',
      labelNames: ['model_name', 'type', 'code'],
      registers,
    });
    // Every ServeError type, so each errors series exists at 0 before the first failure.
    for (const type of ERROR_TYPES) this.errors.inc({ model_name: modelName, type, code: '' }, 0);
  }

  httpRequest(exchange: { route: string; method: string; status: number; durationSeconds: number }): void {
    const route = exchange.route;
    const method = exchange.method.toUpperCase();
    this.requests.inc({ model_name: this.modelName, route, method, status: String(exchange.status) });
    this.duration.observe({ model_name: this.modelName, route, method }, Math.max(0, exchange.durationSeconds));
  }

  errorAnswered(error: { type: ErrorType; code: string | null }): void {
    this.errors.inc({ model_name: this.modelName, type: error.type, code: error.code ?? '' });
  }
}
