import type { Qwen3Shape } from '../shape.js';
import { GGML_QUANTIZATION_VERSION, GGUF_ALIGNMENT, LLAMA_FILE_TYPES, type GgmlTypeName } from './gguf-format.js';
import { f32, str, u32, type GgufMetadata } from './gguf-metadata.js';

/** The architecture name llama.cpp knows Qwen3 dense models by (LLM_ARCH_QWEN3). */
export const QWEN3_ARCHITECTURE = 'qwen3';

/**
 * general.* and the qwen3.* hyper-parameters llama.cpp reads when it loads a qwen3 model
 * (llama-model.cpp, LLM_ARCH_QWEN3). Rotary embedding needs no key of its own: llama.cpp applies
 * NEOX-style rotation (rotate-half, Hugging Face's) to qwen3 over the whole head, and q/k are
 * stored unpermuted.
 */
export function qwen3ArchitectureMetadata(shape: Qwen3Shape, name: string, matrixType: GgmlTypeName): GgufMetadata {
  const arch = QWEN3_ARCHITECTURE;
  return [
    ['general.architecture', str(arch)],
    ['general.name', str(name)],
    ['general.file_type', u32(LLAMA_FILE_TYPES[matrixType])],
    ['general.quantization_version', u32(GGML_QUANTIZATION_VERSION)],
    ['general.alignment', u32(GGUF_ALIGNMENT)],
    [`${arch}.context_length`, u32(shape.maxPositionEmbeddings)],
    [`${arch}.embedding_length`, u32(shape.hiddenSize)],
    [`${arch}.block_count`, u32(shape.numHiddenLayers)],
    [`${arch}.feed_forward_length`, u32(shape.intermediateSize)],
    [`${arch}.attention.head_count`, u32(shape.numAttentionHeads)],
    [`${arch}.attention.head_count_kv`, u32(shape.numKeyValueHeads)],
    [`${arch}.attention.key_length`, u32(shape.headDim)],
    [`${arch}.attention.value_length`, u32(shape.headDim)],
    [`${arch}.attention.layer_norm_rms_epsilon`, f32(shape.rmsNormEps)],
    [`${arch}.rope.freq_base`, f32(shape.ropeTheta)],
  ];
}
