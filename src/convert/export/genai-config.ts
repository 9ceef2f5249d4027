import { DECODER_IO } from '../onnx/decoder-io.js';
import type { Qwen3Shape } from '../shape.js';
import { endOfGenerationIds, QWEN3_SAMPLING_DEFAULTS } from './hf-configs.js';

/**
 * The `genai_config.json` the onnxruntime-genai model builder writes beside a Qwen3 decoder
 * (its `make_genai_config`): model ids and dims, the decoder file and its input/output name maps,
 * and search defaults taken from generation_config.json. The CPU export has no provider options.
 * `listPositionIds` adds the `position_ids` input name that some builder exports list although
 * their graph has none (see ExportOptions.listPositionIdsInConfig).
 */
export function genaiConfigJson(shape: Qwen3Shape, modelFile: string, options: { listPositionIds: boolean } = { listPositionIds: false }): Record<string, unknown> {
  return {
    model: {
      bos_token_id: shape.bosTokenId,
      context_length: shape.maxPositionEmbeddings,
      decoder: {
        session_options: { log_id: 'onnxruntime-genai', provider_options: [] },
        filename: modelFile,
        head_size: shape.headDim,
        hidden_size: shape.hiddenSize,
        inputs: {
          input_ids: DECODER_IO.inputIds,
          attention_mask: DECODER_IO.attentionMask,
          ...(options.listPositionIds ? { position_ids: 'position_ids' } : {}),
          past_key_names: DECODER_IO.pastKeyPattern,
          past_value_names: DECODER_IO.pastValuePattern,
        },
        outputs: {
          logits: DECODER_IO.logits,
          present_key_names: DECODER_IO.presentKeyPattern,
          present_value_names: DECODER_IO.presentValuePattern,
        },
        num_attention_heads: shape.numAttentionHeads,
        num_hidden_layers: shape.numHiddenLayers,
        num_key_value_heads: shape.numKeyValueHeads,
      },
      eos_token_id: endOfGenerationIds(shape),
      pad_token_id: shape.padTokenId,
      type: 'qwen3',
      vocab_size: shape.vocabSize,
    },
    search: {
      diversity_penalty: 0.0,
      do_sample: QWEN3_SAMPLING_DEFAULTS.do_sample,
      early_stopping: true,
      length_penalty: 1.0,
      max_length: shape.maxPositionEmbeddings,
      min_length: 0,
      no_repeat_ngram_size: 0,
      num_beams: 1,
      num_return_sequences: 1,
      // GroupQueryAttention can update a max-length KV buffer in place (past and present the same tensor).
      past_present_share_buffer: true,
      repetition_penalty: 1.0,
      temperature: QWEN3_SAMPLING_DEFAULTS.temperature,
      top_k: QWEN3_SAMPLING_DEFAULTS.top_k,
      top_p: QWEN3_SAMPLING_DEFAULTS.top_p,
    },
  };
}
