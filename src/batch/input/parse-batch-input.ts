import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { z } from 'zod';
import { ServeError } from '../../errors.js';
import { ChatCompletionRequest } from '../../api/schemas/chat.js';
import { CompletionRequest } from '../../api/schemas/completions.js';
import { ResponseCreateRequest } from '../../api/schemas/responses.js';
import { jsonSyntaxFault } from '../../api/validation/parse-body.js';
import { parseValue } from '../../api/validation/parse-value.js';
import type { BatchEndpoint } from '../batch-endpoints.js';
import { BatchRequestInput } from '../http/schemas/batches.js';
import type { BatchLineInput } from '../storage/batch-store.js';

export interface BatchInputLimits {
  /** Most requests in one file. */
  maxLines: number;
  /** Largest request body of one line, in bytes: the HTTP endpoints' own body limit. */
  maxBodyBytes: number;
}

/** OpenAI's limit on requests per batch. */
export const DEFAULT_MAX_BATCH_LINES = 50_000;

/**
 * The request schema of each endpoint (the very schema its route validates HTTP bodies with),
 * under a `body` key so that its errors name the field as the line holds it: `body.temperature`.
 */
const BODY_SCHEMAS: Record<BatchEndpoint, z.ZodType> = {
  '/v1/chat/completions': z.object({ body: ChatCompletionRequest }),
  '/v1/completions': z.object({ body: CompletionRequest }),
  '/v1/responses': z.object({ body: ResponseCreateRequest }),
};

/** A check of the line as `parseValue` does it, its fault a BatchInputError naming the line. */
function checkLinePart<Schema extends z.ZodType>(lineNumber: number, schema: Schema, value: unknown): z.output<Schema> {
  try {
    return parseValue(schema, value);
  } catch (err) {
    if (err instanceof ServeError) throw new BatchInputError(lineNumber, err);
    throw err;
  }
}

/** A bad input file: a 400 whose message starts with the line at fault (1-based), when there is one. */
export class BatchInputError extends ServeError {
  constructor(
    readonly line: number | null,
    cause: ServeError,
  ) {
    super('invalid_request_error', line === null ? cause.message : `line ${line}: ${cause.message}`, { param: 'file', code: cause.code });
  }
}

const fault = (line: number | null, message: string, code: string) => new BatchInputError(line, new ServeError('invalid_request_error', message, { code }));

/** Lines checked between two yields to the event loop (about 20 ms of work). */
const LINES_PER_TURN = 256;

/**
 * Checks a batch input file and returns its requests. Each non-blank line must be a JSON object
 * `{custom_id, method: "POST", url, body}` (BatchRequestInput) with a custom_id no earlier line
 * used, and a body its url's request schema accepts, not streamed and within the body limit.
 * The first fault is thrown as a BatchInputError naming the line and the reason.
 *
 * A line takes about 0.1 ms to check, so a 50,000-line file takes seconds: this yields to the
 * event loop every few hundred lines, so a server checking an upload keeps answering meanwhile.
 */
export async function parseBatchInput(content: Uint8Array, limits: BatchInputLimits): Promise<BatchLineInput[]> {
  const input = new BatchInputChecker(content, limits);
  while (input.checkLines(LINES_PER_TURN)) await setImmediatePromise();
  return input.result();
}

/** The checks of one file, a few lines at a time. */
class BatchInputChecker {
  private readonly rows: string[];
  private readonly lines: BatchLineInput[] = [];
  private readonly firstLineOf = new Map<string, number>();
  private next = 0;

  constructor(
    content: Uint8Array,
    private readonly limits: BatchInputLimits,
  ) {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(content);
    } catch {
      throw fault(null, 'the file is not valid UTF-8 text', 'invalid_file');
    }
    this.rows = text.split('\n');
  }

  /** Checks up to `count` more rows; false once every row is checked. */
  checkLines(count: number): boolean {
    const end = Math.min(this.rows.length, this.next + count);
    for (; this.next < end; this.next++) {
      const raw = this.rows[this.next];
      const row = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (row.trim() === '') continue;
      const lineNumber = this.next + 1;
      if (this.lines.length === this.limits.maxLines) throw fault(lineNumber, `the file has more than ${this.limits.maxLines} requests`, 'too_many_requests');
      const line = parseLine(row, lineNumber, this.limits);
      const earlier = this.firstLineOf.get(line.customId);
      if (earlier !== undefined) throw fault(lineNumber, `custom_id '${line.customId}' is already used on line ${earlier}`, 'duplicate_custom_id');
      this.firstLineOf.set(line.customId, lineNumber);
      this.lines.push(line);
    }
    return this.next < this.rows.length;
  }

  result(): BatchLineInput[] {
    if (this.lines.length === 0) throw fault(null, 'the file has no requests', 'empty_file');
    return this.lines;
  }
}

function parseLine(row: string, lineNumber: number, limits: BatchInputLimits): BatchLineInput {
  let value: unknown;
  try {
    value = JSON.parse(row);
  } catch (err) {
    throw fault(lineNumber, `not valid JSON: ${jsonSyntaxFault(err as Error)}`, 'invalid_json');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw fault(lineNumber, 'a line must be a JSON object', 'invalid_json');
  const { custom_id: customId, url, body } = checkLinePart(lineNumber, BatchRequestInput, value);
  checkLinePart(lineNumber, BODY_SCHEMAS[url], { body });
  if (body.stream === true) throw fault(lineNumber, 'body.stream: streaming is not supported in a batch; leave stream out or false', 'unsupported_parameter');
  // The raw body (not the schema's output) is what runs: the route parses and defaults it itself.
  const bodyText = JSON.stringify(body);
  const bytes = Buffer.byteLength(bodyText, 'utf8');
  if (bytes > limits.maxBodyBytes) throw fault(lineNumber, `body is ${bytes} bytes, more than the ${limits.maxBodyBytes}-byte request limit`, 'body_too_large');
  return { lineNumber, customId, url, body: bodyText };
}
