import type { z } from 'zod';
import { ServeError } from '../../errors.js';
import { fieldSchema, isIntegerSchema } from './field-schema.js';

/**
 * Marks a refinement failure as "a parameter we know but cannot honour" (e.g. non-empty `tools`),
 * so it is answered with code `unsupported_parameter` rather than `invalid_value`.
 */
export const UNSUPPORTED = { unsupported: true } as const;

/**
 * Turns the first zod issue of a rejected request into the 400 the client sees: `param` is the
 * dotted path of the field at fault (`messages.0.content`), `code` says what kind of fault, with
 * OpenAI's codes where OpenAI has one (`invalid_type`, `integer_below_min_value`,
 * `decimal_above_max_value`, `empty_array`, ...). Unknown fields are `unsupported_parameter`: a
 * request is never run with a field ignored.
 *
 * The issue must carry its input (safeParse with `reportInput: true`, as parseValue does): only
 * then can a field that is absent (`missing_required_parameter`) be told from one of the wrong
 * type. `root` is the schema the issue came from; it says whether a number field is an integer.
 */
export function issueToError(issue: z.core.$ZodIssue, root?: z.ZodType): ServeError {
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
  const fail = (message: string, code: string) => new ServeError('invalid_request_error', message, { param, code });
  if (issue.code === 'custom' && (issue.params as { unsupported?: boolean } | undefined)?.unsupported) {
    return fail(issue.message, 'unsupported_parameter');
  }
  const integer = root !== undefined && isIntegerSchema(fieldSchema(root, issue.path));
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return fail(`${subject} is required`, 'missing_required_parameter');
      // JSON numbers beyond ±1.8e308 parse to ±Infinity: a value out of range, not of another type.
      if (issue.input === Infinity || issue.input === -Infinity) {
        const side = issue.input > 0 ? 'above_max' : 'below_min';
        return fail(`${subject} must be a finite number, got a number too ${issue.input > 0 ? 'large' : 'small'} to represent`, `${integer ? 'integer' : 'decimal'}_${side}_value`);
      }
      return fail(ownMessage(issue, subject) ?? `${subject} must be ${expectedPhrase(integer && issue.expected === 'number' ? 'int' : issue.expected)}, got ${receivedPhrase(issue.input)}`, 'invalid_type');
    case 'too_small':
    case 'too_big':
      return rangeError(issue, subject, integer, fail);
    default:
      return fail(ownMessage(issue, subject) ?? genericMessage(issue, subject), 'invalid_value');
  }
}

type Fail = (message: string, code: string) => ServeError;

/** A bound broken: numbers say the bound and the value; arrays and strings their length. */
function rangeError(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig, subject: string, integer: boolean, fail: Fail): ServeError {
  const small = issue.code === 'too_small';
  const bound = small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum;
  const side = small ? 'below_min' : 'above_max';
  if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') {
    const relation = small ? (issue.inclusive ? 'at least' : 'greater than') : issue.inclusive ? 'at most' : 'less than';
    return fail(`${subject} must be ${relation} ${String(bound)}, got ${String(issue.input)}`, `${integer ? 'integer' : 'decimal'}_${side}_value`);
  }
  const length = lengthOf(issue.input);
  if (issue.origin === 'array' || issue.origin === 'set') {
    const code = small && length === 0 ? 'empty_array' : `array_${side}_length`;
    return fail(ownMessage(issue, subject) ?? `${subject} must hold ${small ? 'at least' : 'at most'} ${String(bound)} items, got ${length ?? 'another count'}`, code);
  }
  if (issue.origin === 'string') {
    const rule = small && Number(bound) === 1 ? 'must not be empty' : `must be ${small ? 'at least' : 'at most'} ${String(bound)} characters long, got ${length ?? 'another length'}`;
    return fail(ownMessage(issue, subject) ?? `${subject} ${rule}`, `string_${side}_length`);
  }
  return fail(ownMessage(issue, subject) ?? genericMessage(issue, subject), 'invalid_value');
}

/**
 * zod's built-in English messages ("Invalid input: expected number, received string") name no
 * field; a schema's own message (`stop must be a string or ...`) does, and is kept, with the
 * field's path in front when it does not mention it.
 */
const ZOD_DEFAULT_MESSAGE = /^(Invalid|Too (small|big)|Unrecognized key)/;

function ownMessage(issue: z.core.$ZodIssue, subject: string): string | null {
  if (ZOD_DEFAULT_MESSAGE.test(issue.message)) return null;
  return issue.message.includes(subject) ? issue.message : `${subject}: ${issue.message}`;
}

function genericMessage(issue: z.core.$ZodIssue, subject: string): string {
  if (issue.code === 'invalid_union') {
    const expected = new Set(issue.errors.flatMap((branch) => branch.map((i) => (i.code === 'invalid_type' ? i.expected : 'other'))));
    expected.delete('other');
    if (expected.size > 0) return `${subject} must be one of: ${[...expected].map(expectedPhrase).join(', ')}; got ${receivedPhrase(issue.input)}`;
    return `${subject} has an invalid value`;
  }
  // A record key or map element at fault: its own issue says what was wrong with it.
  if (issue.code === 'invalid_key' || issue.code === 'invalid_element') {
    const inner = issue.issues[0];
    if (inner !== undefined) return ownMessage(inner, subject) ?? `${subject}: ${inner.message}`;
  }
  if (issue.code === 'invalid_value') return `${subject} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  return `${subject}: ${issue.message}`;
}

const EXPECTED: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  array: 'an array',
  object: 'an object',
  record: 'an object',
  null: 'null',
};

function expectedPhrase(expected: string): string {
  return EXPECTED[expected] ?? expected;
}

/**
 * What the client sent, by kind. Numbers are quoted (they say how far off the value was); text
 * never is: an error message goes to the log, and request content must not (see exchange-log.ts).
 */
function receivedPhrase(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'an array';
  switch (typeof input) {
    case 'number':
      return Number.isInteger(input) ? `the integer ${input}` : `the decimal number ${input}`;
    case 'string':
      return 'a string';
    case 'boolean':
      return `${input}`;
    case 'object':
      return 'an object';
    default:
      return typeof input;
  }
}

function lengthOf(input: unknown): number | null {
  if (typeof input === 'string' || Array.isArray(input)) return input.length;
  return null;
}
