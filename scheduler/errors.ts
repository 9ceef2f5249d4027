/**
 * Machine-readable reasons the scheduler refuses a request. Stable: the API layer maps a
 * SchedulerError to ServeError('invalid_request_error', message, { code }), so the value ends
 * up as the OpenAI error body's `code` (e.g. `context_length_exceeded`). Never rename one.
 */
export type SchedulerErrorCode = 'context_length_exceeded' | 'invalid_request';

/** A request the scheduler refuses at `add()`; nothing about it was recorded. */
export class SchedulerError extends Error {
  constructor(
    readonly code: SchedulerErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SchedulerError';
  }
}

/**
 * The prompt can never run: it leaves no room for one generated token within the per-request
 * context limit (the smaller of `maxLen` and `kvTokenBudget`).
 */
export class ContextLengthExceededError extends SchedulerError {
  constructor(
    readonly promptLength: number,
    readonly contextLimit: number,
  ) {
    super(
      'context_length_exceeded',
      `prompt of ${promptLength} tokens leaves no room to generate within the context limit of ${contextLimit} tokens`,
    );
    this.name = 'ContextLengthExceededError';
  }
}

/**
 * A state change the request state machine forbids. It means a bug in the scheduler or in its
 * caller, never bad user input, so the API maps it to an internal error.
 */
export class IllegalTransitionError extends Error {
  constructor(id: string, from: string, to: string) {
    super(`request ${id}: illegal transition ${from} -> ${to}`);
    this.name = 'IllegalTransitionError';
  }
}
