import type { Qwen3Shape } from '../shape.js';

/** One weight as fp32, row-major, in the layout of its Hugging Face checkpoint. */
export interface WeightTensor {
  /** e.g. [out, in] for a Linear weight, [vocab, hidden] for the embedding, [n] for a norm. */
  dims: number[];
  data: Float32Array;
}

/**
 * Where a model's weights come from: a seeded generator or a checkpoint on disk. Tensors are
 * produced one at a time on request so a 4B-parameter model never has to sit in memory whole;
 * callers drop each tensor once they have written or used it.
 */
export interface WeightSource {
  readonly shape: Qwen3Shape;
  /** The tensor under its Hugging Face name, e.g. `model.layers.0.self_attn.q_proj.weight`. */
  get(name: string): WeightTensor;
  /** Releases open files; the source is unusable afterwards. */
  close(): void;
}

/** Hugging Face names of one decoder layer's tensors. */
export function layerWeightNames(layer: number) {
  const p = `model.layers.${layer}`;
  return {
    inputNorm: `${p}.input_layernorm.weight`, // [hidden]
    qProj: `${p}.self_attn.q_proj.weight`, // [heads * headDim, hidden]
    kProj: `${p}.self_attn.k_proj.weight`, // [kvHeads * headDim, hidden]
    vProj: `${p}.self_attn.v_proj.weight`, // [kvHeads * headDim, hidden]
    oProj: `${p}.self_attn.o_proj.weight`, // [hidden, heads * headDim]
    qNorm: `${p}.self_attn.q_norm.weight`, // [headDim]
    kNorm: `${p}.self_attn.k_norm.weight`, // [headDim]
    postAttentionNorm: `${p}.post_attention_layernorm.weight`, // [hidden]
    gateProj: `${p}.mlp.gate_proj.weight`, // [intermediate, hidden]
    upProj: `${p}.mlp.up_proj.weight`, // [intermediate, hidden]
    downProj: `${p}.mlp.down_proj.weight`, // [hidden, intermediate]
  } as const;
}

export const EMBEDDING_WEIGHT = 'model.embed_tokens.weight'; // [vocab, hidden]
export const FINAL_NORM_WEIGHT = 'model.norm.weight'; // [hidden]
/** Present only in checkpoints with untied embeddings. */
export const LM_HEAD_WEIGHT = 'lm_head.weight'; // [vocab, hidden]

/** The expected dims of every tensor a Qwen3 checkpoint of this shape holds. */
export function expectedWeightDims(shape: Qwen3Shape): Map<string, number[]> {
  const { hiddenSize: h, intermediateSize: ff, headDim: d } = shape;
  const q = shape.numAttentionHeads * d;
  const kv = shape.numKeyValueHeads * d;
  const dims = new Map<string, number[]>([
    [EMBEDDING_WEIGHT, [shape.vocabSize, h]],
    [FINAL_NORM_WEIGHT, [h]],
  ]);
  if (!shape.tieWordEmbeddings) dims.set(LM_HEAD_WEIGHT, [shape.vocabSize, h]);
  for (let i = 0; i < shape.numHiddenLayers; i++) {
    const n = layerWeightNames(i);
    dims.set(n.inputNorm, [h]);
    dims.set(n.qProj, [q, h]);
    dims.set(n.kProj, [kv, h]);
    dims.set(n.vProj, [kv, h]);
    dims.set(n.oProj, [h, q]);
    dims.set(n.qNorm, [d]);
    dims.set(n.kNorm, [d]);
    dims.set(n.postAttentionNorm, [h]);
    dims.set(n.gateProj, [ff, h]);
    dims.set(n.upProj, [ff, h]);
    dims.set(n.downProj, [h, ff]);
  }
  return dims;
}
