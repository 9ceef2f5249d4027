import type { Qwen3Shape } from '../shape.js';
import { DECODER_IO, layerName } from './decoder-io.js';
import { type GraphBuilder, MICROSOFT_DOMAIN } from './graph-builder.js';
import { DataType } from './proto-factory.js';
import type { AttentionCore } from './qwen3-layer.js';

/** Values computed once from the attention mask and shared by every layer's attention node. */
export interface GqaInputs {
  seqlensK: string; // int32 [batch_size]: ReduceSum(attention_mask, 1) - 1
  totalSequenceLength: string; // int32 scalar: attention_mask.shape[1]
  cosCache: string; // kvType [maxPositions, headDim / 2]
  sinCache: string; // kvType [maxPositions, headDim / 2]
  /**
   * The KV cache's element type. GroupQueryAttention takes q, k, v, the caches and the rotary
   * tables in this one type, so with an fp16 cache the attention runs in fp16 between casts.
   */
  kvType: DataType;
}

/**
 * What GroupQueryAttention needs besides q/k/v, computed once for all layers:
 * seqlens_k = ReduceSum(attention_mask, axis 1) - 1 (each row's last valid position) and
 * total_sequence_length = attention_mask.shape[1], both int32 as the op requires.
 */
export function addGqaInputs(g: GraphBuilder, attentionMask: string, rotary: { cosCache: string; sinCache: string }, kvType: DataType): GqaInputs {
  const path = '/model/attn_mask_reformat/attn_mask_subgraph';
  const rowLengths = g.op('ReduceSum', `${path}/ReduceSum`, [attentionMask, g.int64([1])], { keepdims: 0 }); // [B] int64
  const lastPositions = g.op('Sub', `${path}/Sub`, [rowLengths, g.int64([1], [])]);
  const seqlensK = g.op('Cast', `${path}/Sub/Cast`, [lastPositions], { to: DataType.INT32 }); // [B] int32
  const maskShape = g.op('Shape', `${path}/Shape`, [attentionMask]); // [2] int64
  const total = g.op('Gather', `${path}/Gather`, [maskShape, g.int64([1], [])], { axis: 0 }); // scalar int64
  const totalSequenceLength = g.op('Cast', `${path}/Gather/Cast`, [total], { to: DataType.INT32 }); // scalar int32
  return { seqlensK, totalSequenceLength, ...rotary, kvType };
}

/**
 * GroupQueryAttention as the model builder writes it: it applies rotary embeddings (positions from
 * seqlens_k), appends k/v to the cache and attends causally. The runner feeds the same buffer as
 * past and present, so the op appends in place; its presents are graph outputs `present.N.*`.
 * It computes in the cache's type, so with an fp16 cache q, k and v are cast to fp16 before it and
 * its output back to fp32 after it: the past and present tensors stay the op's own inputs and
 * outputs, which keeps its shared-buffer path.
 */
export function gqaAttention(g: GraphBuilder, shape: Qwen3Shape, inputs: GqaInputs, past: { key: string; value: string }[]): AttentionCore {
  const castsAround = inputs.kvType !== DataType.FLOAT;
  return (layer, path, q, k, v) => {
    const toKv = (value: string, name: string) => (castsAround ? g.op('Cast', `${path}/${name}/Cast`, [value], { to: inputs.kvType }) : value);
    const [attended] = g.node(
      'GroupQueryAttention',
      `${path}/GroupQueryAttention`,
      [toKv(q, 'q'), toKv(k, 'k'), toKv(v, 'v'), past[layer].key, past[layer].value, inputs.seqlensK, inputs.totalSequenceLength, inputs.cosCache, inputs.sinCache],
      {
        outputs: [`${path}/GroupQueryAttention/output_0`, layerName(DECODER_IO.presentKeyPattern, layer), layerName(DECODER_IO.presentValuePattern, layer)],
        attributes: {
          num_heads: shape.numAttentionHeads,
          kv_num_heads: shape.numKeyValueHeads,
          scale: { float: 1 / Math.sqrt(shape.headDim) },
          local_window_size: -1,
          softcap: { float: 0 },
          do_rotary: 1,
          rotary_interleaved: 0,
        },
        domain: MICROSOFT_DOMAIN,
      },
    ); // [B, S, heads * headDim] in kvType
    return castsAround ? g.op('Cast', `${path}/GroupQueryAttention/Cast`, [attended], { to: DataType.FLOAT }) : attended;
  };
}
