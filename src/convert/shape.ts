/**
 * The hyper-parameters of a Qwen3 decoder, named after the fields of a Hugging Face
 * `config.json` (camelCased). Everything that writes, loads or checks a model reads its
 * dimensions from here.
 */
export interface Qwen3Shape {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  /** The context length the model is exported for (GQA's rotary cache covers this many positions). */
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  bosTokenId: number;
  eosTokenId: number;
  padTokenId: number;
}

/** Qwen3's special tokens: `<|endoftext|>` pads and begins, `<|im_end|>` ends a chat turn. */
const QWEN3_TOKENS = { bosTokenId: 151643, eosTokenId: 151645, padTokenId: 151643 } as const;

export const PRESETS = {
  /**
   * A seeded-random model for tests: the real 151936-token vocabulary (so the real tokenizer and
   * chat template apply) around a body small enough to run a forward pass in milliseconds.
   */
  tiny: {
    vocabSize: 151936,
    hiddenSize: 128,
    intermediateSize: 384,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    headDim: 32,
    rmsNormEps: 1e-6,
    ropeTheta: 1_000_000,
    maxPositionEmbeddings: 4096,
    tieWordEmbeddings: true,
    ...QWEN3_TOKENS,
  },
  /** Qwen3-4B's exact shape (Qwen/Qwen3-4B config.json): random weights run at the real speed. */
  'qwen3-4b': {
    vocabSize: 151936,
    hiddenSize: 2560,
    intermediateSize: 9728,
    numHiddenLayers: 36,
    numAttentionHeads: 32,
    numKeyValueHeads: 8,
    headDim: 128,
    rmsNormEps: 1e-6,
    ropeTheta: 1_000_000,
    maxPositionEmbeddings: 40960,
    tieWordEmbeddings: true,
    ...QWEN3_TOKENS,
  },
} satisfies Record<string, Qwen3Shape>;

export type PresetName = keyof typeof PRESETS;

export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(PRESETS, name);
}
