import { randomUUID } from 'node:crypto';
import type { ServeError } from '../../errors.js';

/** Accepted client request ids: printable ASCII without spaces, of a sane length. */
const CLIENT_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * One HTTP exchange as its log line and metrics describe it. Middleware creates it; routes fill
 * in what only they know (token counts, first token time, prompt and output when they are logged);
 * a streaming route says when its body is done, which is when the exchange is.
 */
export class Exchange {
  /** The client's `X-Request-Id` when it sent a usable one, else a fresh UUID; echoed back. */
  readonly id: string;
  /** performance.now() at arrival. */
  readonly startedAt = performance.now();
  promptTokens: number | null = null;
  completionTokens: number | null = null;
  /** Prompt tokens served from the prefix cache, once the request is done. */
  cachedPromptTokens: number | null = null;
  /** performance.now() when the first generated token reached this exchange. */
  firstTokenAt: number | null = null;
  /** Only filled when prompts are logged (--log-prompts). */
  prompt: string | null = null;
  output: string | null = null;
  /** The client went away before the response was complete (its request was cancelled). */
  clientGone = false;
  /** The error answered, as a status or inside a stream. */
  error: ServeError | null = null;
  /** Set by streaming routes: settles once the body is fully sent or the client has gone. */
  bodyDone: Promise<void> | null = null;

  constructor(clientRequestId: string | undefined) {
    this.id = clientRequestId !== undefined && CLIENT_REQUEST_ID.test(clientRequestId) ? clientRequestId : randomUUID();
  }

  noteFirstToken(): void {
    this.firstTokenAt ??= performance.now();
  }
}
