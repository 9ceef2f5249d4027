import { largestLogits, logSumExp, maxLogit } from './row-scan.js';
import type { SamplingWorkspace } from './sampling-workspace.js';

/**
 * Log-probabilities as reported to the client, taken from the model's own distribution: the
 * log-softmax of the raw logits, before penalties, bias, temperature and truncation. This is
 * vLLM's default (`logprobs_mode = raw_logprobs`); it describes the model rather than the
 * sampler, stays comparable across sampling settings, and the greedy choice is its top entry.
 * (A token the sampler could not pick, e.g. biased by -100, still shows its model probability.)
 */

export interface TokenLogprob {
  tokenId: number;
  logprob: number;
}

/** What the raw row says, computed before any edit touches it. */
export class RawDistribution {
  /** log(sum(exp(logits))): logprob(id) = logits[id] - logNormaliser. */
  readonly logNormaliser: number;
  /** The `count` most likely tokens, most likely first (ties: lower id first). */
  readonly top: TokenLogprob[];

  private constructor(logNormaliser: number, top: TokenLogprob[]) {
    this.logNormaliser = logNormaliser;
    this.top = top;
  }

  static of(row: Float32Array, count: number, workspace: SamplingWorkspace): RawDistribution {
    let max: number;
    let topIds: number[] = [];
    if (count > 0) {
      workspace.reserve(row.length, count);
      ({ max, ids: topIds } = largestLogits(row, count, workspace.heap, workspace.heapIds));
    } else {
      max = maxLogit(row);
    }
    if (!(max > -Infinity) || max === Infinity) throw new Error('logprobs: the logits row has no finite maximum');
    const logNormaliser = logSumExp(row, max);
    return new RawDistribution(
      logNormaliser,
      topIds.map((tokenId) => ({ tokenId, logprob: row[tokenId] - logNormaliser })),
    );
  }

  logprobOf(row: Float32Array, tokenId: number): number {
    return row[tokenId] - this.logNormaliser;
  }
}
