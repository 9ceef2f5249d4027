import { chooseToken, type TokenChoiceContext } from './choose-token.js';
import { LogitEdits } from './logit-edits.js';
import { RandomStream } from '../../random/random-stream.js';
import { RawDistribution, type TokenLogprob } from './raw-logprobs.js';
import type { SamplingParams } from './sampling-params.js';
import { sharedSamplingWorkspace, type SamplingWorkspace } from './sampling-workspace.js';
import { TokenHistory } from './token-history.js';

export interface SamplerOptions {
  params: SamplingParams;
  /** The request's prompt, for the repetition penalty. */
  promptTokenIds: readonly number[];
  /** The model's end-of-sequence ids (generation_config's eos_token_id, e.g. [151645, 151643]). */
  eosTokenIds: readonly number[];
  /** Scratch buffers; by default the one shared by every sampler of this thread. */
  workspace?: SamplingWorkspace;
}

export interface SampledToken {
  tokenId: number;
  /** Present when the request asked for logprobs (see raw-logprobs.ts for which distribution). */
  logprobs: { logprob: number; top: TokenLogprob[] } | null;
}

/**
 * One request's sampler: from a row of logits to the next token, step after step.
 *
 * Each step: log-probabilities of the raw row (if asked), then the per-token edits (minTokens,
 * logitBias, penalties), then greedy argmax or temperature sampling restricted by min_p, top_k
 * and top_p, in vLLM's order. The row is scanned once or twice and only candidates are
 * exponentiated, never sorted whole; see temperature-sampling.ts.
 *
 * Randomness: the request's own stream, exactly one double drawn per token (also when greedy), so
 * token n always uses draw n whatever else is in the batch, and a seed replays a request.
 */
export class Sampler {
  readonly params: SamplingParams;
  private readonly random: RandomStream;
  private readonly context: TokenChoiceContext;

  constructor(options: SamplerOptions) {
    const { params } = options;
    this.params = params;
    this.random = params.seed === null ? RandomStream.fromEntropy() : RandomStream.fromSeed(params.seed);
    this.context = {
      params,
      history: new TokenHistory(options.promptTokenIds),
      // Tokens that end the output: end-of-sequence (unless ignoreEos) and stopTokenIds.
      stopTokens: new Set([...(params.ignoreEos ? [] : options.eosTokenIds), ...params.stopTokenIds]),
      edits: new LogitEdits(),
      workspace: options.workspace ?? sharedSamplingWorkspace(),
    };
  }

  /** Tokens sampled so far. */
  get generatedCount(): number {
    return this.context.history.outputLength;
  }

  /** Whether this token ends the request's output (finish_reason "stop"). */
  isStopToken(tokenId: number): boolean {
    return this.context.stopTokens.has(tokenId);
  }

  /**
   * Picks the next token from `logits` ([vocab], read-only in effect: edits are undone before
   * returning) and records it in the request's history.
   */
  sample(logits: Float32Array): SampledToken {
    const { params, history, workspace } = this.context;
    // Drawn first and always, so that token n uses draw n whatever the settings.
    const draw = this.random.nextDouble();
    const raw = params.logprobs ? RawDistribution.of(logits, params.topLogprobs, workspace) : null;
    const tokenId = chooseToken(logits, this.context, draw);
    if (tokenId < 0) throw new Error('sampler: every logit is -Infinity or NaN');
    history.append(tokenId);
    return {
      tokenId,
      logprobs: raw === null ? null : { logprob: raw.logprobOf(logits, tokenId), top: raw.top },
    };
  }
}
