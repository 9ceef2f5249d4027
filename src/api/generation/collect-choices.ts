import { ServeError } from '../../errors.js';
import type { EngineEvent, FinishReason, GeneratedTokenLogprobs, RequestUsage } from '../../engine/generation.js';
import type { Exchange } from '../http/exchange.js';

/** One choice of a finished request, gathered from its deltas. */
export interface CollectedChoice {
  text: string;
  tokenIds: number[];
  /** Per generated token, when the request asked for logprobs. */
  logprobs: GeneratedTokenLogprobs[] | null;
  finishReason: 'stop' | 'length';
  stopReason: string | number | null;
}

export interface CollectedGeneration {
  choices: CollectedChoice[];
  usage: RequestUsage;
}

/**
 * The finish reasons a client can see. `abort` and `error` never reach a client as a choice's
 * reason: an engine error fails the stream (a ServeError), and an abort means the client left or
 * the server cut the request off while shutting down.
 */
export function publicFinishReason(reason: FinishReason | undefined): 'stop' | 'length' {
  if (reason === 'stop' || reason === 'length') return reason;
  throw cutOff();
}

/** A request's stream ended without its `done` event: the engine dropped it (drain timeout). */
export function cutOff(): ServeError {
  return new ServeError('service_unavailable', 'the server shut down before the request finished', { code: 'shutting_down' });
}

/** One choice's deltas so far. */
interface ChoiceParts {
  text: string[];
  tokenIds: number[];
  logprobs: GeneratedTokenLogprobs[];
  finish: FinishReason | undefined;
  stopReason: string | number | null;
}

/**
 * Runs a request to the end and gathers its n choices (non-streaming responses). Usage and the
 * first token's time go to the exchange for the log line. Engine failures are thrown as they are.
 */
export async function collectChoices(events: AsyncIterable<EngineEvent>, n: number, exchange: Exchange): Promise<CollectedGeneration> {
  const parts = Array.from({ length: n }, (): ChoiceParts => ({ text: [], tokenIds: [], logprobs: [], finish: undefined, stopReason: null }));
  let wantsLogprobs = false;
  for await (const event of events) {
    if (event.type === 'delta') {
      const { delta } = event;
      const part = parts[delta.choice];
      if (delta.tokenIds.length > 0) exchange.noteFirstToken();
      part.text.push(delta.text);
      part.tokenIds.push(...delta.tokenIds);
      if (delta.logprobs) {
        wantsLogprobs = true;
        part.logprobs.push(...delta.logprobs);
      }
      if (delta.finishReason !== undefined) {
        part.finish = delta.finishReason;
        part.stopReason = delta.stopReason ?? null;
      }
    } else if (event.type === 'done') {
      exchange.promptTokens = event.usage.promptTokens;
      exchange.completionTokens = event.usage.completionTokens;
      exchange.cachedPromptTokens = event.usage.cachedPromptTokens;
      return {
        usage: event.usage,
        choices: parts.map((part) => ({
          text: part.text.join(''),
          tokenIds: part.tokenIds,
          logprobs: wantsLogprobs ? part.logprobs : null,
          finishReason: publicFinishReason(part.finish),
          stopReason: part.stopReason,
        })),
      };
    }
  }
  throw cutOff();
}
