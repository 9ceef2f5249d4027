import type { EngineEvent, GenerationRequest } from '../../engine/generation.js';
import type { ServedModel } from '../serving-state.js';

export interface StartedGeneration {
  events: AsyncIterable<EngineEvent>;
  /**
   * Aborted when the client goes away: its HTTP request's signal fired (connection closed) or a
   * streamed body was cancelled. Aborting cancels the engine request and frees its KV rows.
   */
  abort: AbortController;
}

/**
 * Submits a request to the engine, tied to the client's connection and limited to
 * `timeoutSeconds` (--request-timeout; 0: no limit): past it the engine cancels the request and
 * `events` throws a 504 request_timeout, which the routes answer like any engine error. Throws at
 * once, before any event, when the engine refuses new work: 429 with Retry-After when its queue
 * is full, 503 when it is not accepting.
 */
export function startGeneration(model: ServedModel, request: GenerationRequest, clientSignal: AbortSignal, timeoutSeconds = 0): StartedGeneration {
  const abort = new AbortController();
  if (clientSignal.aborted) abort.abort();
  else clientSignal.addEventListener('abort', () => abort.abort(), { once: true });
  const events = model.engine.submit(request, abort.signal, timeoutSeconds > 0 ? timeoutSeconds * 1000 : undefined);
  return { events, abort };
}
