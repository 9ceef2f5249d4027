/**
 * How one sequence picks its tokens, in the engine's own terms. The API layer builds it from a
 * request's fields (src/api/generation/parse-sampling-params.ts), checking ranges and token ids
 * against the vocabulary there, so the engine trusts it as given.
 */
export interface SamplingParams {
  /** 0 (below 1e-5, as in vLLM) means greedy: the most likely token, no randomness used. */
  temperature: number;
  /** Nucleus: sample among the most likely tokens holding this much probability. 1 = off. */
  topP: number;
  /** Sample among the k most likely tokens (ties at the k-th kept). 0 = off. */
  topK: number;
  /** Drop tokens less likely than minP times the most likely one. 0 = off. */
  minP: number;
  /** Subtracted once from every token already generated (not prompt tokens). */
  presencePenalty: number;
  /** Subtracted per occurrence of a token in the generated text. */
  frequencyPenalty: number;
  /** HF/vLLM: logits of prompt and generated tokens divided (if > 0) or multiplied (if < 0) by it. 1 = off. */
  repetitionPenalty: number;
  /** token id -> added to its logit, -100..100. */
  logitBias: ReadonlyMap<number, number>;
  /** Same seed, same logits -> same tokens. null: seeded from the operating system. */
  seed: number | null;
  /** End-of-sequence and stop token ids cannot be sampled before this many tokens. */
  minTokens: number;
  /** Keep generating past the end-of-sequence token (benchmarks); stopTokenIds still stop. */
  ignoreEos: boolean;
  /** Extra token ids that end the output, besides the model's end-of-sequence ids. */
  stopTokenIds: readonly number[];
  /** Report the chosen token's log-probability. */
  logprobs: boolean;
  /** How many most likely alternatives to report with it, 0..20. */
  topLogprobs: number;
}

/** Plain sampling of the model's distribution at temperature 1, every edit off (OpenAI's defaults too). */
export const DEFAULT_SAMPLING_PARAMS: Readonly<SamplingParams> = Object.freeze({
  temperature: 1,
  topP: 1,
  topK: 0,
  minP: 0,
  presencePenalty: 0,
  frequencyPenalty: 0,
  repetitionPenalty: 1,
  logitBias: new Map<number, number>(),
  seed: null,
  minTokens: 0,
  ignoreEos: false,
  stopTokenIds: [],
  logprobs: false,
  topLogprobs: 0,
});
