import type { SerializedServeError } from '../errors.js';
import type { GrammarSpec } from './constraints/grammar-spec.js';
import type { TokenLogprob } from './sampling/raw-logprobs.js';
import type { SamplingParams } from './sampling/sampling-params.js';

/**
 * The engine's contract with its callers, as plain data that crosses the worker boundary:
 * a tokenized request in, a stream of events out.
 */

/** Interactive traffic (chat) is scheduled ahead of batch jobs and may preempt them. */
export type RequestPriority = 'interactive' | 'batch';

export interface GenerationRequest {
  /** Unique among the engine's live requests. */
  id: string;
  promptTokenIds: number[];
  sampling: SamplingParams;
  /** Independent choices (OpenAI `n`): each is its own sequence with its own KV row. */
  n: number;
  /** Most tokens each choice generates; the context limit may end it sooner. */
  maxTokens: number;
  /** Stop strings, never part of the output. */
  stop: string[];
  priority: RequestPriority;
  /**
   * What every choice's output must match (structured outputs, forced tool calls): each step
   * only the tokens the grammar allows can be sampled. Absent: free text.
   */
  grammar?: GrammarSpec;
  /**
   * When the server received the request, for queue-time metrics: epoch ms on the clock EngineCore
   * reads, `performance.timeOrigin + performance.now()`, never Date.now() (see planGeneration).
   */
  arrivalTime: number;
}

/** OpenAI's finish reasons, plus `abort` (client gone, cancelled) and `error`. */
export type FinishReason = 'stop' | 'length' | 'abort' | 'error';

/** One generated token's log-probabilities (token ids; the API turns them into text and bytes). */
export interface GeneratedTokenLogprobs {
  tokenId: number;
  logprob: number;
  top: TokenLogprob[];
}

/** What one choice produced in one step. */
export interface ChoiceDelta {
  choice: number;
  /** Whole characters only; '' while a character or a possible stop string is held back. */
  text: string;
  /** Tokens sampled this step for this choice (usually one). */
  tokenIds: number[];
  /** Per token in `tokenIds`, when the request asked for logprobs. */
  logprobs: GeneratedTokenLogprobs[] | null;
  /** Set on the choice's last delta. */
  finishReason?: FinishReason;
  /** The stop string or stop token id that ended the choice (vLLM's `stop_reason`). */
  stopReason?: string | number | null;
}

/** Timestamps (epoch ms) of one request's life, for latency metrics. */
export interface RequestTimings {
  arrival: number;
  /** First scheduled into a step (queue time ends). */
  scheduled: number | null;
  firstToken: number | null;
  finished: number;
}

export interface RequestUsage {
  promptTokens: number;
  /** Summed over choices. */
  completionTokens: number;
  /**
   * Prompt tokens whose KV came from the prefix cache instead of being computed (OpenAI's
   * `prompt_tokens_details.cached_tokens`); at most promptTokens - 1.
   */
  cachedPromptTokens: number;
}

export type EngineEvent =
  | { type: 'delta'; requestId: string; delta: ChoiceDelta }
  /** Every choice has finished; the last event of a request. */
  | { type: 'done'; requestId: string; usage: RequestUsage; timings: RequestTimings; finishReasons: FinishReason[] }
  /** The request failed as a whole; the last event of a request. */
  | { type: 'error'; requestId: string; error: SerializedServeError };
