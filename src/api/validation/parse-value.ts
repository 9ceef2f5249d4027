import type { z } from 'zod';
import { issueToError } from './issue-to-error.js';

/**
 * Checks an already-decoded request part (multipart form fields, query parameters) against
 * `schema`; the first violation is the same 400 a JSON body would get (see parseJsonBody).
 */
export function parseValue<Schema extends z.ZodType>(schema: Schema, value: unknown): z.output<Schema> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw issueToError(parsed.error.issues[0]);
  return parsed.data;
}
