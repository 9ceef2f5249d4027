import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import { clientClosedRequest, ServeError } from '../errors.js';
import type { FeatureRoutes } from './feature-routes.js';
import { requireApiKey } from './http/api-key.js';
import type { AppEnv } from './http/app-env.js';
import { bodyTimeout, DEFAULT_BODY_TIMEOUT_SECONDS } from './http/body-timeout.js';
import { asServeError, errorResponse } from './http/error-response.js';
import { exchangeLog } from './http/exchange-log.js';
import { clientGaveUp } from './http/node-bindings.js';
import type { HttpObserver, MetricsRenderer } from './observability.js';
import type { OpenApiPaths } from './openapi/document.js';
import { registerApiDocs } from './routes/api-docs.js';
import { registerChatCompletions } from './routes/chat-completions.js';
import { registerCompletions } from './routes/completions.js';
import { registerHealth } from './routes/health.js';
import { registerInstruct } from './routes/instruct.js';
import { registerMetrics } from './routes/metrics.js';
import { registerModels } from './routes/models.js';
import { registerOpenApi } from './routes/openapi.js';
import { registerResponses } from './routes/responses.js';
import { registerTokenize } from './routes/tokenize.js';
import { ResponseStore } from './responses/response-store.js';
import type { ServingState } from './serving-state.js';
import { corsMiddleware } from './http/cors.js';

/** Default request body limit: a long prompt is ~100 KB of JSON; 4 MiB leaves room for chats. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface AppOptions {
  state: ServingState;
  logger: Logger;
  /** When set, the API routes (not the probes, /metrics or /openapi.yaml) need `Authorization: Bearer <key>`. */
  apiKey?: string;
  maxBodyBytes?: number;
  /** Log prompts and outputs with each request (off: only counts and timings). */
  logPrompts?: boolean;
  /** The longest a request body may pause while it arrives (--body-timeout); 0: no limit. */
  bodyTimeoutSeconds?: number;
  /** Origins browsers may call the server from (--cors-origins; `*`: any). Absent or empty: no CORS. */
  corsOrigins?: readonly string[];
  /** The longest a generation request may live, queue wait included (--request-timeout); absent or 0: no limit. */
  requestTimeoutSeconds?: number;
  /** Where the Responses API keeps responses (previous_response_id, GET); default an in-memory one. */
  responseStore?: ResponseStore;
  observer?: HttpObserver;
  metrics?: MetricsRenderer;
  /** Routes of features outside this layer (the Files and Batch API), mounted after the API's own. */
  features?: readonly FeatureRoutes[];
  /**
   * Paths other features add to GET /openapi.yaml. Given whether or not those features are
   * mounted, so that the served document is the repository's openapi.yaml in every configuration.
   */
  openApiPaths?: readonly OpenApiPaths[];
}

/** Routes that need the API key when one is configured. */
const KEYED_PATHS = ['/v1/*', '/tokenize', '/detokenize'];

/**
 * The HTTP application: middleware (exchange log and id, API key, body limit), the routes, and
 * one error path that answers every failure in OpenAI's envelope. Nothing thrown by a route
 * escapes: an unexpected error is logged and answered as a 500.
 */
export function createApp(options: AppOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const routeOptions = {
    state: options.state,
    logPrompts: options.logPrompts ?? false,
    requestTimeoutSeconds: options.requestTimeoutSeconds ?? 0,
    responses: options.responseStore ?? new ResponseStore(),
  };
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const features = options.features ?? [];

  app.use('*', exchangeLog({ logger: options.logger, observer: options.observer, logPrompts: options.logPrompts }));
  // Before the key check: a browser's preflight (OPTIONS) never carries the Authorization header.
  if (options.corsOrigins && options.corsOrigins.length > 0) app.use('*', corsMiddleware(options.corsOrigins));
  if (options.apiKey !== undefined) {
    const keyCheck = requireApiKey(options.apiKey);
    for (const path of KEYED_PATHS) app.use(path, keyCheck);
  }
  const limitBody = (maxSize: number, what: string) =>
    bodyLimit({
      maxSize,
      onError: () => {
        throw new ServeError('request_too_large', `the ${what} is larger than ${maxSize} bytes`, { code: 'body_too_large' });
      },
    });
  const requestLimit = limitBody(maxBodyBytes, 'request body');
  // Uploads have their own, larger limits (--max-file-bytes); their routes check the file itself.
  const uploadLimits = new Map<string, MiddlewareHandler>();
  for (const feature of features) {
    for (const [path, maxSize] of Object.entries(feature.uploadLimits ?? {})) uploadLimits.set(path, limitBody(maxSize, 'upload'));
  }
  // Outside the body limit, which reads chunked bodies itself: a stall there times out too.
  app.use('*', bodyTimeout(options.bodyTimeoutSeconds ?? DEFAULT_BODY_TIMEOUT_SECONDS));
  app.use('*', (c, next) => ((c.req.method === 'POST' ? uploadLimits.get(c.req.path) : undefined) ?? requestLimit)(c, next));

  registerHealth(app, routeOptions);
  registerModels(app, routeOptions);
  registerChatCompletions(app, routeOptions);
  registerResponses(app, routeOptions);
  registerCompletions(app, routeOptions);
  registerInstruct(app, routeOptions);
  registerTokenize(app, routeOptions);
  for (const feature of features) app.route('/', feature.routes);
  registerMetrics(app, options.metrics);
  registerOpenApi(app, options.openApiPaths ?? []);
  registerApiDocs(app);

  app.notFound((c) =>
    answer(c, new ServeError('not_found_error', `no route for ${c.req.method} ${c.req.path}`, { code: 'route_not_found' }), options.logger),
  );
  app.onError((err, c) => answer(c, err, options.logger));
  return app;
}

function answer(c: Context<AppEnv>, err: unknown, logger: Logger): Response {
  const exchange = c.get('exchange');
  const gone = clientGaveUp(c.req.raw, c.env);
  // A body read that failed because the client hung up is the client's doing, not a server fault.
  const error = !(err instanceof ServeError) && gone ? clientClosedRequest() : asServeError(err);
  if (!(err instanceof ServeError) && !gone) logger.error({ err, requestId: exchange?.id }, 'unexpected error answered as 500');
  if (exchange) {
    exchange.error = error;
    if (gone) exchange.clientGone = true;
  }
  return errorResponse(error);
}
