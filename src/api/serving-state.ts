import { ServeError } from '../errors.js';
import type { SamplingParams } from '../engine/sampling/sampling-params.js';
import type { EngineClient } from '../engine/worker/engine-client.js';
import type { PromptEncoder } from '../model/tokenizer/prompt-encoder.js';
import type { Tokenizer } from '../model/tokenizer/tokenizer.js';

/** The part of EngineClient the API uses (tests may hand in their own). */
export type GenerationEngine = Pick<EngineClient, 'info' | 'submit' | 'inFlight' | 'state'>;

/** Everything the routes need about the loaded model. */
export interface ServedModel {
  /** The name clients use (`model` field, GET /v1/models). */
  name: string;
  engine: GenerationEngine;
  /** The main thread's own tokenizer: token texts and bytes (logprobs), detokenizing. */
  tokenizer: Tokenizer;
  /**
   * Prompts to tokens, chat templates included: long ones on tokenizer threads (TokenizerPool),
   * so the HTTP thread never stalls on a multi-megabyte prompt.
   */
  prompts: PromptEncoder;
  /** Sampling defaults from the model's generation_config.json, under the request's fields. */
  samplingDefaults: Partial<SamplingParams>;
  /** When the model was loaded (Unix seconds), for the `created` field of GET /v1/models. */
  created: number;
}

export type ServingPhase = 'loading' | 'ready' | 'draining' | 'failed';

/**
 * The server's life as the routes see it: loading (listening, /health answers, work is 503),
 * ready, draining (SIGTERM: in-flight work finishes, new work is 503), or failed to load. The
 * phase only moves forward; only `ready` accepts work.
 */
export class ServingState {
  private currentPhase: ServingPhase = 'loading';
  private served: ServedModel | null = null;
  private failure: string | null = null;

  /** A loaded engine whose worker has died (EngineClient state `failed`) is not ready either. */
  get phase(): ServingPhase {
    if (this.currentPhase === 'ready' && this.served?.engine.state === 'failed') return 'failed';
    return this.currentPhase;
  }

  /** The model, once loaded (also while draining, for in-flight work and /ready's body). */
  get model(): ServedModel | null {
    return this.served;
  }

  get failureMessage(): string | null {
    if (this.failure === null && this.phase === 'failed') return 'the engine worker stopped';
    return this.failure;
  }

  markReady(model: ServedModel): void {
    if (this.currentPhase !== 'loading') return;
    this.served = model;
    this.currentPhase = 'ready';
  }

  markDraining(): void {
    if (this.currentPhase === 'ready' || this.currentPhase === 'loading') this.currentPhase = 'draining';
  }

  markFailed(message: string): void {
    this.failure = message;
    this.currentPhase = 'failed';
  }

  /** The model for a new piece of work, or the 503 that says why there is none. */
  acceptWork(): ServedModel {
    const phase = this.phase;
    if (phase === 'ready' && this.served) return this.served;
    const reasons: Record<Exclude<ServingPhase, 'ready'>, [string, string]> = {
      loading: ['the model is still loading; retry shortly', 'model_loading'],
      draining: ['the server is shutting down and accepts no new requests', 'draining'],
      failed: [`the model is not available: ${this.failureMessage ?? 'unknown error'}`, 'model_unavailable'],
    };
    const [message, code] = reasons[phase === 'ready' ? 'loading' : phase];
    return throwUnavailable(message, code, phase === 'loading' ? 5 : undefined);
  }
}

function throwUnavailable(message: string, code: string, retryAfterSeconds?: number): never {
  throw new ServeError('service_unavailable', message, { code, retryAfterSeconds });
}
