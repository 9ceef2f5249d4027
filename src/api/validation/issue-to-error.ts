import type { z } from 'zod';
import { ServeError } from '../../errors.js';

/**
 * Marks a refinement failure as "a parameter we know but cannot honour" (e.g. non-empty `tools`),
 * so it is answered with code `unsupported_parameter` rather than `invalid_value`.
 */
export const UNSUPPORTED = { unsupported: true } as const;

/**
 * Turns the first zod issue of a rejected request into the 400 the client sees: `param` is the
 * dotted path of the field at fault (`messages.0.content`), `code` says what kind of fault.
 * Unknown fields are `unsupported_parameter`: a request is never run with a field ignored.
 */
export function issueToError(issue: z.core.$ZodIssue): ServeError {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const param = [...path, issue.keys[0]].join('.');
    const others = issue.keys.length > 1 ? ` (also: ${issue.keys.slice(1).join(', ')})` : '';
    return new ServeError('invalid_request_error', `Unsupported parameter: '${param}' is not supported by this server${others}`, {
      param,
      code: 'unsupported_parameter',
    });
  }
  const param = path.length > 0 ? path.join('.') : null;
  const subject = param ?? 'the request body';
  if (issue.code === 'custom' && (issue.params as { unsupported?: boolean } | undefined)?.unsupported) {
    return new ServeError('invalid_request_error', issue.message, { param, code: 'unsupported_parameter' });
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return new ServeError('invalid_request_error', `${subject} is required`, { param, code: 'missing_required_parameter' });
  }
  return new ServeError('invalid_request_error', describe(issue, subject), { param, code: 'invalid_value' });
}

/**
 * Schemas that name their field in their own messages (the sampling fields) keep them; zod's
 * generic ones ("Invalid input: expected string, received number") get the field's path in front.
 */
function describe(issue: z.core.$ZodIssue, subject: string): string {
  if (issue.code === 'invalid_union' && issue.message === 'Invalid input') {
    const expected = new Set(issue.errors.flatMap((branch) => branch.map((i) => (i.code === 'invalid_type' ? i.expected : 'other'))));
    expected.delete('other');
    if (expected.size > 0) return `${subject} must be one of: ${[...expected].join(', ')}`;
    return `${subject} has an invalid value`;
  }
  return issue.message.includes(subject) ? issue.message : `${subject}: ${issue.message}`;
}
