import type { Context } from 'hono';
import type { z } from 'zod';
import { ServeError } from '../../errors.js';
import type { AppEnv } from '../http/app-env.js';
import { clientGaveUp } from '../http/node-bindings.js';
import { parseValue } from './parse-value.js';

/**
 * Reads a multipart/form-data body (an upload) and checks its fields against `schema`. A body
 * that is not well-formed multipart (a boundary that does not match the header's, none at all, a
 * truncated part) is a 400 `invalid_multipart`; undici only says "Failed to parse body as
 * FormData", which is not the client's to read. A ServeError met while reading (the body timeout)
 * and a client that hung up mid-upload are passed on as they are, for the app to answer.
 */
export async function parseFormBody<Schema extends z.ZodType>(c: Context<AppEnv>, schema: Schema): Promise<z.output<Schema>> {
  const contentType = c.req.header('content-type') ?? '';
  if (!/^multipart\/form-data\s*;.*\bboundary=/i.test(contentType)) {
    throw new ServeError('invalid_request_error', 'the upload must be multipart/form-data with a boundary in its Content-Type header', {
      code: 'invalid_multipart',
    });
  }
  let form: Record<string, unknown>;
  try {
    form = await c.req.parseBody();
  } catch (err) {
    const cause = serveErrorCause(err);
    if (cause) throw cause;
    if (clientGaveUp(c.req.raw, c.env)) throw err;
    throw new ServeError('invalid_request_error', 'the upload is not a well-formed multipart/form-data body (a boundary that does not match the header, or a truncated part)', {
      code: 'invalid_multipart',
    });
  }
  return parseValue(schema, form);
}

/** The ServeError an error was caused by, if any (undici wraps stream errors in a TypeError). */
function serveErrorCause(err: unknown): ServeError | null {
  for (let current = err, depth = 0; current instanceof Error && depth < 4; current = current.cause, depth++) {
    if (current instanceof ServeError) return current;
  }
  return null;
}
