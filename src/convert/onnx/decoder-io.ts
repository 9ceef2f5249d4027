import { DataType } from './proto-factory.js';

/**
 * Input and output names of the decoder graph, exactly as the onnxruntime-genai model builder
 * writes them (and as its genai_config.json maps them with `%d` patterns).
 */
export const DECODER_IO = {
  inputIds: 'input_ids', // int64 or int32 (IoPrecision) [batch_size, sequence_length]
  attentionMask: 'attention_mask', // int64 [batch_size, total_sequence_length]
  pastKeyPattern: 'past_key_values.%d.key', // float32 or float16 [batch_size, kvHeads, past_sequence_length, headDim]
  pastValuePattern: 'past_key_values.%d.value',
  logits: 'logits', // float32 or float16 [batch_size, sequence_length, vocab]
  presentKeyPattern: 'present.%d.key', // float32 or float16 [batch_size, kvHeads, total_sequence_length, headDim]
  presentValuePattern: 'present.%d.value',
  // Graphs that read the cache as an input output only the new positions instead of presents.
  newKeyPattern: 'new_key_values.%d.key', // float32 [batch_size, kvHeads, sequence_length, headDim]
  newValuePattern: 'new_key_values.%d.value',
  // An int8 cache (KvCache 'int8') adds one float32 scale per position and head: [batch_size, kvHeads, positions, 1].
  pastKeyScalePattern: 'past_key_values.%d.key_scale',
  pastValueScalePattern: 'past_key_values.%d.value_scale',
  newKeyScalePattern: 'new_key_values.%d.key_scale',
  newValueScalePattern: 'new_key_values.%d.value_scale',
} as const;

/**
 * How the graph holds the KV cache:
 * - 'float': in the IoPrecision's float type (fp32, or fp16 for fp16 graphs);
 * - 'int8': keys as uint8 (code + 128) and values as int8, each with a float32 scale per position
 *   and KV head, read by integer matrix products (int8-cache-attention.ts): a quarter of fp32's
 *   bytes per token. Only with 'new-positions' KV outputs.
 */
export type KvCache = 'float' | 'int8';

export const KV_CACHES = ['float', 'int8'] as const satisfies readonly KvCache[];

/** Throws a RangeError when an int8 cache is asked of a graph that cannot have one; callers check before writing anything. */
export function checkKvCache(kvCache: KvCache | undefined, ioPrecision: IoPrecision, kvOutputs?: KvOutputs): void {
  if (kvCache === 'int8' && resolveKvOutputs(ioPrecision, kvOutputs) !== 'new-positions') {
    throw new RangeError("an int8 KV cache needs 'new-positions' KV outputs (io precision fp32): GroupQueryAttention's shared buffer holds float values");
  }
}

/**
 * How a decoder graph hands back the KV of the positions it computed:
 * - 'present': `present.N.*` span the whole cache; fed the same buffers as the past, GQA appends
 *   in place (the model builder's layout, so published exports load the same way).
 * - 'new-positions': the cache is read-only input and `new_key_values.N.*` hold just the S new
 *   positions, which the runner writes into its pool (see cache-read-attention.ts for why). Only
 *   with IoPrecision fp32: the CPU provider has no fp16 matrix products to read an fp16 cache with.
 */
export type KvOutputs = 'present' | 'new-positions';

export const KV_OUTPUTS = ['new-positions', 'present'] as const satisfies readonly KvOutputs[];

/** The KV outputs a graph of this precision gets: 'new-positions' for fp32, 'present' for fp16 (the only kind fp16 can have). */
export function resolveKvOutputs(ioPrecision: IoPrecision, kvOutputs?: KvOutputs): KvOutputs {
  if (ioPrecision === 'fp16' && kvOutputs === 'new-positions') {
    throw new RangeError("kv outputs 'new-positions' need io precision fp32 (an fp16 cache is read by GroupQueryAttention, with 'present' outputs)");
  }
  return kvOutputs ?? (ioPrecision === 'fp16' ? 'present' : 'new-positions');
}

/**
 * The element types of the graph's inputs and outputs, in the two layouts the model builder writes:
 * - `fp32`: int64 ids, fp32 KV cache and logits, as its CPU exports (onnx-community/Qwen3-4B-ONNX's
 *   cpu-int4 folder) and this project's exports by default;
 * - `fp16`: int32 ids, fp16 KV cache and logits, as its fp16 and CUDA exports (the
 *   genai-tiny-qwen2 test model). Half the KV memory per token.
 * The attention mask is int64 in both. The weights' format is independent of this (WeightFormat).
 */
export type IoPrecision = 'fp32' | 'fp16';

export const IO_PRECISIONS = ['fp32', 'fp16'] as const satisfies readonly IoPrecision[];

export interface DecoderIoTypes {
  inputIds: DataType;
  /** past_key_values.N.* and present.N.*, and so the type GroupQueryAttention computes in. */
  kv: DataType;
  logits: DataType;
}

export const DECODER_IO_TYPES: Record<IoPrecision, DecoderIoTypes> = {
  fp32: { inputIds: DataType.INT64, kv: DataType.FLOAT, logits: DataType.FLOAT },
  fp16: { inputIds: DataType.INT32, kv: DataType.FLOAT16, logits: DataType.FLOAT16 },
};

/** Symbolic dimension names of the graph's inputs and outputs. */
export const DIMS = {
  batch: 'batch_size',
  sequence: 'sequence_length',
  total: 'total_sequence_length',
  past: 'past_sequence_length',
  /** An int8 cache's blocked keys: past_sequence_length / the key block. */
  pastBlocks: 'past_blocks',
} as const;

export function layerName(pattern: string, layer: number): string {
  return pattern.replace('%d', String(layer));
}
