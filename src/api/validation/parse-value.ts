import type { z } from 'zod';
import { invalidParam } from '../../errors.js';
import { issueToError } from './issue-to-error.js';
import { findProtoKey } from './proto-keys.js';

/**
 * Checks a decoded request (a JSON body, multipart form fields, query parameters) against
 * `schema`; the first violation is a 400 in OpenAI's envelope (see issueToError). The input is
 * kept in zod's issues (`reportInput`): without it a field of the wrong type looks absent.
 */
export function parseValue<Schema extends z.ZodType>(schema: Schema, value: unknown): z.output<Schema> {
  const protoKey = findProtoKey(value);
  if (protoKey) throw invalidParam(protoKey.join('.'), `${protoKey.join('.')}: a key named __proto__ is not allowed`);
  const parsed = schema.safeParse(value, { reportInput: true });
  if (!parsed.success) throw issueToError(parsed.error.issues[0], schema);
  return parsed.data;
}
