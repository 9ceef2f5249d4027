import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Logger } from 'pino';
import type { HttpObserver } from '../observability.js';
import type { AppEnv } from './app-env.js';
import { Exchange } from './exchange.js';

/** The route label of requests no route matched: raw paths would make unbounded label sets. */
export const UNMATCHED_ROUTE = 'unmatched';

export interface ExchangeLogOptions {
  logger: Logger;
  observer?: HttpObserver;
  /** --log-prompts: request content may be logged, the messages of refusals included. */
  logPrompts?: boolean;
}

/**
 * The outermost middleware: gives the exchange its id (honouring X-Request-Id, echoing it back),
 * and once the exchange is over, after the last byte of a stream, writes its one log line and
 * reports it to the observer, labelled by route pattern.
 */
export function exchangeLog(options: ExchangeLogOptions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const exchange = new Exchange(c.req.header('x-request-id'));
    c.set('exchange', exchange);
    await next();
    c.res.headers.set('x-request-id', exchange.id);
    const finish = () => report(options, exchange, c.req.method, routeLabel(c), c.res.status);
    if (exchange.bodyDone) void exchange.bodyDone.then(finish, finish);
    else finish();
  };
}

function routeLabel(c: Parameters<MiddlewareHandler>[0]): string {
  const handler = matchedRoutes(c).findLast((route) => route.method !== 'ALL');
  return handler?.path ?? UNMATCHED_ROUTE;
}

function report(options: ExchangeLogOptions, exchange: Exchange, method: string, route: string, status: number): void {
  const now = performance.now();
  const durationMs = now - exchange.startedAt;
  const line: Record<string, unknown> = { requestId: exchange.id, method, route, status, durationMs: round(durationMs) };
  if (exchange.promptTokens !== null) line.promptTokens = exchange.promptTokens;
  if (exchange.completionTokens !== null) line.completionTokens = exchange.completionTokens;
  if (exchange.cachedPromptTokens !== null) line.cachedPromptTokens = exchange.cachedPromptTokens;
  if (exchange.firstTokenAt !== null) line.ttftMs = round(exchange.firstTokenAt - exchange.startedAt);
  if (exchange.prompt !== null) line.prompt = exchange.prompt;
  if (exchange.output !== null) line.output = exchange.output;
  if (exchange.clientGone) line.clientGone = true;
  if (exchange.error) {
    const { type, code, param, message, status: errorStatus } = exchange.error;
    // A refusal's message and param may repeat what the client sent (a role it named, a key of
    // logit_bias, an unknown field); type and code say what was refused. Server-side failures
    // (5xx) are worded by the server and logged whole.
    line.error = errorStatus < 500 && !options.logPrompts ? { type, code } : { type, code, param, message };
  }
  if (status >= 500) options.logger.warn(line, 'request');
  else options.logger.info(line, 'request');
  options.observer?.httpRequest({ route, method, status, durationSeconds: durationMs / 1000 });
  if (exchange.error) options.observer?.errorAnswered({ type: exchange.error.type, code: exchange.error.code });
}

const round = (ms: number) => Math.round(ms * 10) / 10;
