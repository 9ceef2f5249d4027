import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ServeError } from '../../errors.js';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Requires `Authorization: Bearer <key>`. Keys are compared as SHA-256 digests with
 * timingSafeEqual: equal lengths whatever the client sends, and a time that does not depend on
 * how much of the key a guess got right.
 */
export function requireApiKey(key: string): MiddlewareHandler {
  const expected = digest(key);
  return async (c, next) => {
    const header = c.req.header('authorization');
    const presented = header === undefined ? undefined : /^Bearer\s+(.+)$/i.exec(header.trim())?.[1];
    if (presented === undefined) {
      throw new ServeError('authentication_error', 'missing API key: send it as "Authorization: Bearer <key>"', { code: 'missing_api_key' });
    }
    if (!timingSafeEqual(digest(presented), expected)) {
      throw new ServeError('authentication_error', 'incorrect API key', { code: 'invalid_api_key' });
    }
    await next();
  };
}
