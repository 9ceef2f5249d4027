import type { Qwen3Shape } from '../shape.js';
import { EMBEDDING_WEIGHT, expectedWeightDims, FINAL_NORM_WEIGHT, layerWeightNames, LM_HEAD_WEIGHT } from '../weights/weight-source.js';
import type { GgmlTypeName } from './gguf-format.js';
import type { GgufTensorPlan } from './gguf-file-writer.js';

/** A tensor of the GGUF file and the checkpoint tensor (Hugging Face name) it is made from. */
export interface Qwen3GgufTensor extends GgufTensorPlan {
  source: string;
}

/** llama.cpp's names (LLM_TENSOR_NAMES in llama-arch.cpp) for one decoder layer's tensors. */
function layerTensorNames(layer: number): [gguf: string, hf: string][] {
  const hf = layerWeightNames(layer);
  const blk = `blk.${layer}`;
  return [
    [`${blk}.attn_norm.weight`, hf.inputNorm],
    [`${blk}.attn_q.weight`, hf.qProj],
    [`${blk}.attn_k.weight`, hf.kProj],
    [`${blk}.attn_v.weight`, hf.vProj],
    [`${blk}.attn_output.weight`, hf.oProj],
    [`${blk}.attn_q_norm.weight`, hf.qNorm],
    [`${blk}.attn_k_norm.weight`, hf.kNorm],
    [`${blk}.ffn_norm.weight`, hf.postAttentionNorm],
    [`${blk}.ffn_gate.weight`, hf.gateProj],
    [`${blk}.ffn_up.weight`, hf.upProj],
    [`${blk}.ffn_down.weight`, hf.downProj],
  ];
}

/**
 * Every tensor of a qwen3 GGUF of this shape, in file order. Matrices take `matrixType`; the
 * 1-D norm weights stay F32, as llama.cpp's own converter and quantizer keep them (they are tiny
 * and every activation is scaled by them). With tied embeddings there is no output.weight:
 * llama.cpp then uses token_embd.weight as the LM head. Dims are the checkpoint's reversed
 * (ggml's ne[0] is the fastest-varying), so the row-major data is the same bytes in either order.
 */
export function qwen3GgufTensors(shape: Qwen3Shape, matrixType: GgmlTypeName): Qwen3GgufTensor[] {
  const dims = expectedWeightDims(shape);
  const pairs: [string, string][] = [['token_embd.weight', EMBEDDING_WEIGHT]];
  for (let layer = 0; layer < shape.numHiddenLayers; layer++) pairs.push(...layerTensorNames(layer));
  pairs.push(['output_norm.weight', FINAL_NORM_WEIGHT]);
  if (!shape.tieWordEmbeddings) pairs.push(['output.weight', LM_HEAD_WEIGHT]);
  return pairs.map(([name, source]) => {
    const hfDims = dims.get(source);
    if (!hfDims) throw new Error(`no checkpoint tensor ${source} for ${name}`);
    return { name, source, ne: [...hfDims].reverse(), type: hfDims.length === 1 ? 'F32' : matrixType };
  });
}
