import type { ChoiceDelta, EngineEvent } from '../../engine/generation.js';
import type { ServeError } from '../../errors.js';
import { asServeError } from '../http/error-response.js';
import type { Exchange } from '../http/exchange.js';
import { cutOff } from './collect-choices.js';

type DoneEvent = Extract<EngineEvent, { type: 'done' }>;

/** A streaming route's wire format: the pieces it writes, each one network write. */
export interface StreamFraming {
  /** The piece for one delta, or null to write nothing for it (e.g. text held back by a stop string). */
  delta(delta: ChoiceDelta): string | null;
  /** The last pieces of a finished request (finish reason, usage, `[DONE]`). */
  done(event: DoneEvent): string[];
  /** The last pieces of a request that failed once the response had started. */
  error(error: ServeError): string[];
}

/**
 * The body of a streamed generation, as every streaming route writes it: a piece per delta that
 * `framing` keeps, then its end once the request is `done`. Events that stop without `done` mean
 * the engine dropped the request while shutting down. A failure after the headers went out cannot
 * change the status any more, so it is written as `framing`'s error pieces; unless the client is
 * gone, when nothing is written (no one would read it) and the exchange logs the disconnect.
 */
export async function* generationStream(
  events: AsyncIterable<EngineEvent>,
  exchange: Exchange,
  clientGone: AbortSignal,
  framing: StreamFraming,
): AsyncGenerator<string, void, undefined> {
  try {
    for await (const event of events) {
      if (event.type === 'delta') {
        if (event.delta.tokenIds.length > 0) exchange.noteFirstToken();
        const piece = framing.delta(event.delta);
        if (piece !== null) yield piece;
      } else if (event.type === 'done') {
        exchange.completionTokens = event.usage.completionTokens;
        exchange.cachedPromptTokens = event.usage.cachedPromptTokens;
        yield* framing.done(event);
        return;
      }
    }
    throw cutOff();
  } catch (err) {
    if (clientGone.aborted) {
      exchange.clientGone = true;
      return;
    }
    const error = asServeError(err);
    exchange.error = error;
    yield* framing.error(error);
  }
}
