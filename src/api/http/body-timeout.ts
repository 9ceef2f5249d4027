import type { MiddlewareHandler } from 'hono';
import { requestBodyStalled } from '../../errors.js';
import type { AppEnv } from './app-env.js';

/** How long a request body may pause, by default: a working client sends well within this. */
export const DEFAULT_BODY_TIMEOUT_SECONDS = 30;

/**
 * Fails the body of a request that stops arriving: when no bytes come for `timeoutSeconds`, the
 * body stream errors with the 408 `body_timeout` ServeError, so whatever reads the body (JSON
 * parsing, the body limit, multipart parsing) ends, and the app answers 408 before Node drains
 * and closes the connection. Without it, a client that declares a Content-Length and stalls holds
 * a socket and a handler until Node's requestTimeout (300 s).
 *
 * It is an idle timeout, not a total one, so a large upload over a slow but steady link passes.
 * Only requests that came over HTTP have a body that can stall; in-process ones are skipped.
 */
export function bodyTimeout(timeoutSeconds: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const body = c.req.raw.body;
    if (timeoutSeconds <= 0 || body === null || c.env?.incoming === undefined) return next();
    c.req.raw = new Request(c.req.raw, { body: watchedBody(body, timeoutSeconds), duplex: 'half' } as RequestInit);
    return next();
  };
}

function watchedBody(body: ReadableStream<Uint8Array>, timeoutSeconds: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(requestBodyStalled(timeoutSeconds)), timeoutSeconds * 1000);
      });
      try {
        const chunk = await Promise.race([reader.read(), stalled]);
        if (chunk.done) controller.close();
        else controller.enqueue(chunk.value);
      } catch (err) {
        controller.error(err);
        // Stops the underlying Node stream; the bytes still on their way are drained and dropped.
        reader.cancel(err).catch(() => {});
      } finally {
        clearTimeout(timer);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
