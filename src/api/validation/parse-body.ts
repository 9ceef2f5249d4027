import type { z } from 'zod';
import { ServeError } from '../../errors.js';
import { issueToError } from './issue-to-error.js';

/**
 * Reads a request body as JSON and checks it against `schema`. Malformed JSON, a body that is not
 * an object, and a schema violation are each a 400 in OpenAI's error envelope; the body-size
 * limit has been enforced by middleware before this reads anything.
 */
export async function parseJsonBody<Schema extends z.ZodType>(request: Request, schema: Schema): Promise<z.output<Schema>> {
  const text = await request.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new ServeError('invalid_request_error', `the request body is not valid JSON: ${(err as Error).message}`, { code: 'invalid_json' });
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ServeError('invalid_request_error', 'the request body must be a JSON object', { code: 'invalid_json' });
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw issueToError(parsed.error.issues[0]);
  return parsed.data;
}
