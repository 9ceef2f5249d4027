/**
 * The one error type of the server. Its `type` is stable: it is the `error.type` of the OpenAI
 * error body and the `type` label of the errors metric, so dashboards and clients can rely on it.
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'service_unavailable'
  | 'timeout_error'
  | 'request_timeout_error'
  | 'server_error';

const STATUS: Record<ErrorType, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  service_unavailable: 503,
  // A request past --request-timeout: 504 is what HTTP (and gRPC's DEADLINE_EXCEEDED) use for
  // "the answer did not come in time". 408 would say the client was too slow to send its request.
  // OpenAI's SDK retries 408 and 5xx alike, and a retry would most likely spend the whole timeout
  // again on a KV row, so the answer also carries `x-should-retry: false` (see errorResponse).
  timeout_error: 504,
  // The client was too slow to send its request (a body that stalled past --body-timeout).
  request_timeout_error: 408,
  server_error: 500,
};

/** Every error type, e.g. so each errors series can exist at 0 before the first failure. */
export const ERROR_TYPES = Object.keys(STATUS) as readonly ErrorType[];

export interface ServeErrorOptions {
  /** The request field at fault, as a dotted path (`messages.0.content`). */
  param?: string | null;
  /** A machine-readable reason, e.g. `context_length_exceeded`, `model_not_found`. */
  code?: string | null;
  /** Seconds a client should wait before retrying (429 and 503). */
  retryAfterSeconds?: number;
}

export class ServeError extends Error {
  override name = 'ServeError';
  readonly type: ErrorType;
  readonly param: string | null;
  readonly code: string | null;
  readonly retryAfterSeconds: number | undefined;

  constructor(type: ErrorType, message: string, options: ServeErrorOptions = {}) {
    super(message);
    this.type = type;
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get status(): number {
    return STATUS[this.type];
  }

  /** The OpenAI error envelope. */
  toBody(): { error: { message: string; type: ErrorType; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }

  /** A plain object that survives structured cloning across the worker boundary. */
  toJSON(): SerializedServeError {
    return {
      type: this.type,
      message: this.message,
      param: this.param,
      code: this.code,
      retryAfterSeconds: this.retryAfterSeconds,
    };
  }

  static fromJSON(e: SerializedServeError): ServeError {
    return new ServeError(e.type, e.message, e);
  }
}

export interface SerializedServeError {
  type: ErrorType;
  message: string;
  param: string | null;
  code: string | null;
  retryAfterSeconds?: number;
}

export function invalidParam(param: string, message: string, code: string | null = 'invalid_value'): ServeError {
  return new ServeError('invalid_request_error', message, { param, code });
}

/** A request whose body stopped arriving for longer than --body-timeout. */
export function requestBodyStalled(timeoutSeconds: number): ServeError {
  return new ServeError('request_timeout_error', `the request body stopped arriving for more than ${timeoutSeconds} s (the server's body timeout)`, {
    code: 'body_timeout',
  });
}

/**
 * The client closed its connection before its request had fully arrived (it gave up while
 * uploading): nobody reads the answer; the status only labels the log line and metrics.
 */
export function clientClosedRequest(): ServeError {
  return new ServeError('invalid_request_error', 'the client closed the connection before its request was complete', { code: 'client_closed_request' });
}

/** A request that ran past --request-timeout (queue wait and generation together); it has been cancelled. */
export function requestTimedOut(timeoutSeconds: number): ServeError {
  return new ServeError('timeout_error', `the request did not finish within the server's request timeout of ${timeoutSeconds} s and was cancelled`, {
    code: 'request_timeout',
  });
}
