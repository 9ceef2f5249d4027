import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

/**
 * Cross-origin access for browser apps (--cors-origins), with Hono's CORS middleware. Off by
 * default: the server usually runs on a developer's machine or a private network, and a
 * permissive policy would let any web page the user opens drive it (spend its compute, read its
 * answers) through the user's browser. `*` allows every origin; a list allows those exactly.
 * The headers browsers may send and read are the ones the OpenAI SDK uses and this server
 * answers with.
 */
export function corsMiddleware(origins: readonly string[]): MiddlewareHandler {
  return cors({
    origin: origins.includes('*') ? '*' : [...origins],
    allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    // The SDK's own headers (x-stainless-*) are many and change between versions: any header is allowed.
    allowHeaders: [],
    exposeHeaders: ['X-Request-Id', 'Retry-After', 'x-should-retry'],
    maxAge: 600,
  });
}
