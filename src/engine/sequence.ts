import type { TokenConstraint } from './constraints/token-constraint.js';
import { IncrementalDetokenizer, type TokenTextDecoder } from './detokenizer.js';
import type { ChoiceDelta, FinishReason, GeneratedTokenLogprobs } from './generation.js';
import { Sampler } from './sampling/sampler.js';
import { applyTokenMask } from './sampling/token-mask.js';
import type { SamplingParams } from './sampling/sampling-params.js';
import { StopStringMatcher } from './stop-matcher.js';

export interface SequenceOptions {
  id: string;
  choice: number;
  promptTokenIds: readonly number[];
  sampling: SamplingParams;
  stop: readonly string[];
  eosTokenIds: readonly number[];
  /** Null for models without a tokenizer: tokens are produced, text stays empty. */
  decoder: TokenTextDecoder | null;
  /** The grammar this choice's output must follow, if any; the sequence owns and releases it. */
  constraint?: TokenConstraint;
}

/** What sampling one token did to a sequence. */
export interface SequenceStep {
  delta: ChoiceDelta;
  /** The token or a stop string ended the output (finish reason "stop"). */
  stopped: boolean;
}

/**
 * One choice of a request as the engine sees it: its tokens (prompt, then generated), and the
 * per-token pipeline from logits to text: sampler -> detokenizer -> stop-string matcher.
 * The scheduler tracks the same sequence by `id`, in counts only.
 */
export class Sequence {
  readonly id: string;
  readonly choice: number;
  /** Prompt followed by generated tokens; KV row position i holds token i. */
  readonly tokenIds: number[];
  readonly promptLength: number;
  private readonly sampler: Sampler;
  private readonly detokenizer: IncrementalDetokenizer | null;
  private readonly stops: StopStringMatcher;
  /** Null for free text. Released when the sequence finishes. */
  readonly constraint: TokenConstraint | null;
  /** The stop string or stop token id that ended the output, once one has. */
  private stopReason: string | number | null = null;

  constructor(options: SequenceOptions) {
    this.id = options.id;
    this.choice = options.choice;
    this.tokenIds = [...options.promptTokenIds];
    this.promptLength = options.promptTokenIds.length;
    this.sampler = new Sampler({
      params: options.sampling,
      promptTokenIds: options.promptTokenIds,
      eosTokenIds: options.eosTokenIds,
    });
    this.detokenizer = options.decoder
      ? new IncrementalDetokenizer(options.decoder, { contextTokenIds: options.promptTokenIds })
      : null;
    this.stops = new StopStringMatcher(options.stop);
    this.constraint = options.constraint ?? null;
  }

  get generatedCount(): number {
    return this.tokenIds.length - this.promptLength;
  }

  /**
   * Samples the next token from this sequence's row of logits ([vocab]) and turns it into text.
   * `allowed` is the grammar's mask for this step (constrained sequences only): applied to the
   * row before sampling, so logprobs, penalties and top-k/top-p all see the constrained
   * distribution, as with vLLM's bitmask on the logits.
   */
  advance(logits: Float32Array, allowed?: Int32Array): SequenceStep {
    if (allowed) applyTokenMask(logits, allowed);
    const { tokenId, logprobs } = this.sampler.sample(logits);
    this.constraint?.accept(tokenId);
    this.tokenIds.push(tokenId);
    const tokenLogprobs: GeneratedTokenLogprobs[] | null = logprobs ? [{ tokenId, ...logprobs }] : null;
    if (this.sampler.isStopToken(tokenId)) {
      // End-of-sequence and stopTokenIds end the output without being part of its text;
      // they still count as generated tokens (usage), as in vLLM.
      this.stopReason = this.sampler.params.stopTokenIds.includes(tokenId) ? tokenId : null;
      return { delta: { choice: this.choice, text: '', tokenIds: [tokenId], logprobs: tokenLogprobs }, stopped: true };
    }
    const piece = this.detokenizer ? this.detokenizer.push(tokenId) : '';
    const matched = piece === '' ? { stopped: false as const, text: '' } : this.stops.push(piece);
    if (matched.stopped) this.stopReason = matched.stop;
    return {
      delta: { choice: this.choice, text: matched.text, tokenIds: [tokenId], logprobs: tokenLogprobs },
      stopped: matched.stopped,
    };
  }

  /**
   * The choice's last delta: releases text still held back (an unfinished character, a possible
   * stop-string start that never completed) unless a stop string ended it, whose tail is dropped.
   * `reason` is the scheduler's verdict; a stop string found in the released text makes it "stop".
   */
  finish(reason: FinishReason): ChoiceDelta {
    this.release();
    let text = '';
    let finishReason = reason;
    if (typeof this.stopReason !== 'string') {
      const tail = this.detokenizer ? this.detokenizer.flush() : '';
      const matched = tail === '' ? { stopped: false as const, text: '' } : this.stops.push(tail);
      text = matched.text;
      if (matched.stopped) {
        finishReason = 'stop';
        this.stopReason = matched.stop;
      } else {
        text += this.stops.flush();
      }
    }
    return { choice: this.choice, text, tokenIds: [], logprobs: null, finishReason, stopReason: this.stopReason };
  }

  /** Frees what the sequence holds outside JavaScript's heap (its grammar matcher). */
  release(): void {
    this.constraint?.release();
  }
}
