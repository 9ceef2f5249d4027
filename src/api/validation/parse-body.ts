import type { z } from 'zod';
import { ServeError } from '../../errors.js';
import { parseValue } from './parse-value.js';

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
    throw new ServeError('invalid_request_error', `the request body is not valid JSON: ${jsonSyntaxFault(err as Error)}`, { code: 'invalid_json' });
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ServeError('invalid_request_error', 'the request body must be a JSON object', { code: 'invalid_json' });
  }
  return parseValue(schema, body);
}

/**
 * Where JSON.parse gave up, without its own message: V8 quotes the text around the fault
 * (`Unexpected token 'h', "hello worl"... is not valid JSON`), and error messages are logged,
 * while nothing of a request's content may be without --log-prompts.
 */
export function jsonSyntaxFault(err: Error): string {
  if (/^Unexpected end of JSON input/.test(err.message)) return 'it ends before the value is complete';
  const at = /at position (\d+)(?: \(line (\d+) column (\d+)\))?/.exec(err.message);
  if (!at) return 'syntax error';
  return at[2] === undefined ? `syntax error at character ${at[1]}` : `syntax error at line ${at[2]}, column ${at[3]}`;
}
