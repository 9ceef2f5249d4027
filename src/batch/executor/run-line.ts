import { newBatchRequestId } from '../batch-ids.js';
import { answeredLine } from '../output/output-line.js';
import type { LineAnswer, PendingLine } from '../storage/batch-store.js';

/** The status of a request that ran past --request-timeout (ServeError `timeout_error`). */
const REQUEST_TIMEOUT_STATUS = 504;

/**
 * How a line reaches the endpoint: the Hono app called in-process (`app.request`) with the
 * batch priority in its environment, so the line runs through exactly the route an HTTP client
 * reaches, at the scheduler's batch priority.
 */
export type LineRequestSender = (url: string, init: RequestInit) => Promise<Response>;

/**
 * What came of one attempt at a line:
 * - answered: a final answer to store (2xx, or a 4xx the same body would always get);
 * - busy: 429 or 503, the server cannot take it now: retry later, store nothing;
 * - server_error: a 500, stored only if retries keep getting it.
 * A 504 (the line ran past --request-timeout) is answered, not a server_error: another attempt
 * would most likely hold a KV row for the whole timeout again, so the line fails at once.
 */
export type LineAttempt =
  | { kind: 'answered'; answer: LineAnswer }
  | { kind: 'busy'; retryAfterMs: number | null }
  | { kind: 'server_error'; answer: LineAnswer };

/** Runs one line through the endpoint and turns the response into its output line. */
export async function attemptLine(send: LineRequestSender, line: PendingLine, signal: AbortSignal): Promise<LineAttempt> {
  const id = newBatchRequestId();
  const response = await send(line.url, {
    method: 'POST',
    // The output line's id doubles as the exchange id, so the server log names the line.
    headers: { 'content-type': 'application/json', 'x-request-id': id },
    body: line.body,
    signal,
  });
  const bodyText = await response.text();
  if (response.status === 429 || response.status === 503) return { kind: 'busy', retryAfterMs: retryAfterMs(response.headers.get('retry-after')) };
  const answer = toAnswer(line, id, response, bodyText);
  return response.status >= 500 && response.status !== REQUEST_TIMEOUT_STATUS ? { kind: 'server_error', answer } : { kind: 'answered', answer };
}

function toAnswer(line: PendingLine, id: string, response: Response, bodyText: string): LineAnswer {
  let succeeded = response.status >= 200 && response.status < 300;
  // Chat and text completions count prompt/completion tokens; the Responses API input/output tokens.
  let usage: { prompt_tokens?: number; completion_tokens?: number; input_tokens?: number; output_tokens?: number } | undefined;
  try {
    usage = (JSON.parse(bodyText) as { usage?: typeof usage }).usage;
  } catch {
    // Every route answers JSON; splicing in anything else would make the output line invalid.
    succeeded = false;
    bodyText = JSON.stringify({ error: { message: 'the endpoint answered a body that is not JSON', type: 'server_error', param: null, code: 'invalid_response' } });
  }
  return {
    succeeded,
    output: answeredLine({ id, customId: line.customId, statusCode: response.status, requestId: response.headers.get('x-request-id') ?? id, bodyText }),
    inputTokens: succeeded ? (usage?.prompt_tokens ?? usage?.input_tokens ?? 0) : 0,
    outputTokens: succeeded ? (usage?.completion_tokens ?? usage?.output_tokens ?? 0) : 0,
  };
}

function retryAfterMs(header: string | null): number | null {
  const seconds = header === null ? NaN : Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : null;
}
