import type { Qwen3Shape } from '../shape.js';

/**
 * Qwen3's end-of-generation tokens as its generation_config.json lists them: `<|im_end|>` (the
 * chat-turn end, the shape's eos) and `<|endoftext|>` (the document end, also its bos and pad).
 */
export function endOfGenerationIds(shape: Qwen3Shape): number[] {
  return [...new Set([shape.eosTokenId, shape.bosTokenId])];
}

/** Qwen3's recommended sampling (its generation_config.json, thinking mode). */
export const QWEN3_SAMPLING_DEFAULTS = { do_sample: true, temperature: 0.6, top_k: 20, top_p: 0.95 } as const;

/** A Hugging Face `config.json` for Qwen3ForCausalLM with this shape (the fields Qwen/Qwen3-4B's has). */
export function qwen3ConfigJson(shape: Qwen3Shape): Record<string, unknown> {
  return {
    architectures: ['Qwen3ForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: shape.bosTokenId,
    eos_token_id: shape.eosTokenId,
    head_dim: shape.headDim,
    hidden_act: 'silu',
    hidden_size: shape.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: shape.intermediateSize,
    max_position_embeddings: shape.maxPositionEmbeddings,
    max_window_layers: shape.numHiddenLayers,
    model_type: 'qwen3',
    num_attention_heads: shape.numAttentionHeads,
    num_hidden_layers: shape.numHiddenLayers,
    num_key_value_heads: shape.numKeyValueHeads,
    pad_token_id: shape.padTokenId,
    rms_norm_eps: shape.rmsNormEps,
    rope_scaling: null,
    rope_theta: shape.ropeTheta,
    sliding_window: null,
    tie_word_embeddings: shape.tieWordEmbeddings,
    torch_dtype: 'float32',
    use_cache: true,
    use_sliding_window: false,
    vocab_size: shape.vocabSize,
  };
}

/** Qwen3's `generation_config.json`: end tokens, pad, and the recommended sampling defaults. */
export function qwen3GenerationConfigJson(shape: Qwen3Shape): Record<string, unknown> {
  return {
    bos_token_id: shape.bosTokenId,
    eos_token_id: endOfGenerationIds(shape),
    pad_token_id: shape.padTokenId,
    ...QWEN3_SAMPLING_DEFAULTS,
  };
}
