import type { LogitEdits } from './logit-edits.js';
import { argmax } from './row-scan.js';
import type { SamplingParams } from './sampling-params.js';
import type { SamplingWorkspace } from './sampling-workspace.js';
import { sampleWithTemperature } from './temperature-sampling.js';
import type { TokenHistory } from './token-history.js';

/** Below this temperature sampling is greedy, as in vLLM (its _SAMPLING_EPS). */
export const GREEDY_TEMPERATURE = 1e-5;

const NOTHING_BANNED: ReadonlySet<number> = new Set();

export interface TokenChoiceContext {
  params: SamplingParams;
  history: TokenHistory;
  /** Ids minTokens keeps out until enough tokens are generated (end-of-sequence and stop ids). */
  stopTokens: ReadonlySet<number>;
  edits: LogitEdits;
  workspace: SamplingWorkspace;
}

/**
 * One sampling step without its randomness: given the uniform `draw` in [0, 1), the token the
 * request's settings pick from `logits`. Edits (minTokens, logitBias, penalties) are applied in
 * place and undone before returning. Greedy ignores the draw. Returns -1 if every logit is
 * -Infinity or NaN after the edits.
 *
 * Every token's probability is the measure of the draws that pick it, which is how the tests
 * check the distributions exactly: by sweeping the draw over [0, 1).
 */
export function chooseToken(logits: Float32Array, ctx: TokenChoiceContext, draw: number): number {
  const { params, history, workspace } = ctx;
  const banned = history.outputLength < params.minTokens ? ctx.stopTokens : NOTHING_BANNED;
  ctx.edits.apply(logits, params, history, banned, workspace);
  try {
    return params.temperature < GREEDY_TEMPERATURE
      ? argmax(logits)
      : sampleWithTemperature(logits, params, draw, workspace);
  } finally {
    ctx.edits.undo(logits);
  }
}
