import { ServeError } from '../../errors.js';

/**
 * Any failure as the ServeError the client is told about. Errors that are not ServeErrors are
 * bugs or crashes underneath: the client gets a generic 500 (their text may hold internals) and
 * the log gets the original.
 */
export function asServeError(err: unknown): ServeError {
  if (err instanceof ServeError) return err;
  return new ServeError('server_error', 'internal server error', { code: 'internal_error' });
}

/** The HTTP response for an error: OpenAI's envelope, its status, and Retry-After when known. */
export function errorResponse(error: ServeError): Response {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfterSeconds)));
  if (error.type === 'authentication_error') headers['www-authenticate'] = 'Bearer';
  // OpenAI's SDKs obey this header over their status rules: a request that ran out its timeout
  // would most likely do so again, holding a KV row for the whole time, so clients should not retry.
  if (error.type === 'timeout_error') headers['x-should-retry'] = 'false';
  return new Response(JSON.stringify(error.toBody()), { status: error.status, headers });
}
