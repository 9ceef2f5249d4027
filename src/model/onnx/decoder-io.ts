/**
 * Input and output names of the decoder graph, exactly as the onnxruntime-genai model builder
 * writes them (and as its genai_config.json maps them with `%d` patterns).
 */
export const DECODER_IO = {
  inputIds: 'input_ids', // int64 [batch_size, sequence_length]
  attentionMask: 'attention_mask', // int64 [batch_size, total_sequence_length]
  pastKeyPattern: 'past_key_values.%d.key', // float32 [batch_size, kvHeads, past_sequence_length, headDim]
  pastValuePattern: 'past_key_values.%d.value',
  logits: 'logits', // float32 [batch_size, sequence_length, vocab]
  presentKeyPattern: 'present.%d.key', // float32 [batch_size, kvHeads, total_sequence_length, headDim]
  presentValuePattern: 'present.%d.value',
  // Graphs that read the cache as an input output only the new positions instead of presents.
  newKeyPattern: 'new_key_values.%d.key', // float32 [batch_size, kvHeads, sequence_length, headDim]
  newValuePattern: 'new_key_values.%d.value',
} as const;

/**
 * How a decoder graph hands back the KV of the positions it computed:
 * - 'present': `present.N.*` span the whole cache; fed the same buffers as the past, GQA appends
 *   in place (the model builder's layout, so published exports load the same way).
 * - 'new-positions': the cache is read-only input and `new_key_values.N.*` hold just the S new
 *   positions, which the runner writes into its pool (see cache-read-attention.ts for why).
 */
export type KvOutputs = 'present' | 'new-positions';

/** Symbolic dimension names of the graph's inputs and outputs. */
export const DIMS = {
  batch: 'batch_size',
  sequence: 'sequence_length',
  total: 'total_sequence_length',
  past: 'past_sequence_length',
} as const;

export function layerName(pattern: string, layer: number): string {
  return pattern.replace('%d', String(layer));
}
