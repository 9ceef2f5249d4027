import { IllegalTransitionError } from './errors.js';

/**
 * Priority classes. Higher numbers run first; any integer is allowed, these are the two the
 * server uses. Interactive (chat) traffic beats batch jobs at admission and at preemption.
 */
export const Priority = { batch: 0, interactive: 1 } as const;

/**
 * waiting:   queued, never ran (or nothing computed yet); holds no KV row.
 * running:   holds a KV row; prefilling (prompt not fully computed) or decoding.
 * preempted: lost its row and KV; queued again, will recompute prompt + generated tokens.
 * finished:  terminal; `finishReason` says why.
 */
export type RequestStatus = 'waiting' | 'running' | 'preempted' | 'finished';

/** Same names as OpenAI's `finish_reason` where one exists; `abort` and `error` are ours. */
export type FinishReason = 'stop' | 'length' | 'abort' | 'error';

/** The legal transitions. `finished` is terminal; `waiting` is only ever the initial state. */
const LEGAL_TRANSITIONS: Readonly<Record<RequestStatus, readonly RequestStatus[]>> = {
  waiting: ['running', 'finished'],
  running: ['preempted', 'finished'],
  preempted: ['running', 'finished'],
  finished: [],
};

/**
 * What a caller hands to `Scheduler.add()`. Scheduling works on counts; token ids are only read,
 * when given, to match and cache prefixes (prefix caching).
 */
export interface NewRequest {
  /** Unique among requests the scheduler still knows (not yet reported as finished). */
  readonly id: string;
  /** Prompt tokens, at least 1. */
  readonly promptLength: number;
  /** Most tokens to generate, at least 1. The context limit may end the request sooner. */
  readonly maxTokens: number;
  /** Default `Priority.interactive`. */
  readonly priority?: number;
  /**
   * The request's sequence as the caller holds it: the prompt, then each generated token appended
   * before the update() of the step that sampled it. The scheduler reads it (never writes it) to
   * find a cached prefix at admission and to cache the row's tokens when the request finishes.
   * Without it the request takes no part in prefix caching.
   */
  readonly tokenIds?: readonly number[];
}

/** A read-only copy of a request's scheduler-side state, for the engine, logs and tests. */
export interface RequestSnapshot {
  readonly id: string;
  readonly priority: number;
  /** Position in add() order; FCFS within a priority class follows it. */
  readonly arrival: number;
  readonly promptLength: number;
  readonly maxTokens: number;
  readonly status: RequestStatus;
  readonly finishReason: FinishReason | undefined;
  /** Tokens whose keys/values are in the request's KV row (0 unless running). */
  readonly numComputedTokens: number;
  /** Tokens generated so far; kept across preemption. */
  readonly numGeneratedTokens: number;
  /** promptLength + numGeneratedTokens: the request's whole known sequence. */
  readonly numTokens: number;
  readonly numPreemptions: number;
}

/**
 * The scheduler's mutable record of one request. Only the scheduler mutates it; everything
 * else sees `RequestSnapshot`s.
 *
 * Token accounting (vLLM v1's model): the request's sequence is its prompt followed by its
 * generated tokens, `numTokens` long. The first `numComputedTokens` of them are in the KV row.
 * A step computes the next tokens of the sequence; when a step reaches the end of the sequence
 * the runner samples one new token, which grows the sequence by one. So a decoding request has
 * exactly one token left to compute (the last one sampled), and a preempted request, whose
 * computed count drops to 0, recomputes prompt and generated tokens alike as if all were prompt.
 */
export class RequestState {
  status: RequestStatus = 'waiting';
  finishReason: FinishReason | undefined = undefined;
  numComputedTokens = 0;
  numGeneratedTokens = 0;
  numPreemptions = 0;

  constructor(
    readonly id: string,
    readonly priority: number,
    readonly arrival: number,
    readonly promptLength: number,
    readonly maxTokens: number,
    /** NewRequest.tokenIds: the caller's live array, at least numTokens long after each update(). */
    readonly tokenIds?: readonly number[],
  ) {}

  get numTokens(): number {
    return this.promptLength + this.numGeneratedTokens;
  }

  get numTokensToCompute(): number {
    return this.numTokens - this.numComputedTokens;
  }

  /**
   * A running request that computes exactly one token onto a non-empty past: it can join the
   * batched decode call. This covers ordinary decoding and also a prefill whose last chunk is a
   * single token (same shape for the model: S=1 at position numComputedTokens).
   */
  get isDecodable(): boolean {
    return this.status === 'running' && this.numComputedTokens > 0 && this.numTokensToCompute === 1;
  }

  /** Moves to `to`, or throws if the state machine forbids it. */
  transition(to: RequestStatus, reason?: FinishReason): void {
    if (!LEGAL_TRANSITIONS[this.status].includes(to)) {
      throw new IllegalTransitionError(this.id, this.status, to);
    }
    if ((to === 'finished') !== (reason !== undefined)) {
      throw new Error(`request ${this.id}: a finish reason goes with 'finished' and nothing else`);
    }
    this.status = to;
    this.finishReason = reason;
  }

  snapshot(): RequestSnapshot {
    return {
      id: this.id,
      priority: this.priority,
      arrival: this.arrival,
      promptLength: this.promptLength,
      maxTokens: this.maxTokens,
      status: this.status,
      finishReason: this.finishReason,
      numComputedTokens: this.numComputedTokens,
      numGeneratedTokens: this.numGeneratedTokens,
      numTokens: this.numTokens,
      numPreemptions: this.numPreemptions,
    };
  }
}

/** Scheduling order: higher priority first, then earlier arrival (FCFS within a class). */
export function ranksBefore(a: RequestState, b: RequestState): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.arrival < b.arrival;
}
