import { layerWeightNames } from '../weights/weight-source.js';
import type { DecoderContext } from './decoder-context.js';
import { MICROSOFT_DOMAIN } from './graph-builder.js';
import { DataType } from './proto-factory.js';

/**
 * The residual stream between sublayers. Each RMSNorm after the first is a
 * SkipSimplifiedLayerNormalization that adds the previous sublayer's output (`pending`) to the
 * residual and normalizes the sum in one op, as the model builder fuses it; `pending` is null only
 * before layer 0, where the embedding alone is the residual.
 */
export interface ResidualStream {
  residual: string; // [B, S, hidden]
  pending: string | null; // [B, S, hidden]
}

/**
 * RMSNorm of the residual stream (plus the pending sublayer output when there is one):
 * y = x / sqrt(mean(x^2) + eps) * weight. Returns the normalized value and the updated stream.
 */
export function addResidualNorm(ctx: DecoderContext, nodePath: string, stream: ResidualStream, weightName: string): { normed: string; stream: ResidualStream } {
  const weight = ctx.normWeight(weightName);
  // Forced FLOAT: an epsilon that happens to be whole would otherwise be written as an INT attribute.
  const epsilon = { float: ctx.shape.rmsNormEps };
  if (stream.pending === null) {
    const normed = ctx.g.op('SimplifiedLayerNormalization', `${nodePath}/SimplifiedLayerNorm`, [stream.residual, weight], { epsilon, axis: -1, stash_type: 1 });
    return { normed, stream: { residual: stream.residual, pending: null } };
  }
  // Outputs: normalized, mean and inv_std_var (unused), input + skip (the new residual).
  const [normed, , , sum] = ctx.g.node('SkipSimplifiedLayerNormalization', `${nodePath}/SkipLayerNorm`, [stream.pending, stream.residual, weight], {
    outputs: [`${nodePath}/output_0`, '', '', `${nodePath}/output_3`],
    attributes: { epsilon },
    domain: MICROSOFT_DOMAIN,
  });
  return { normed, stream: { residual: sum, pending: null } };
}

/**
 * The attention core of one layer, between the q/k/v projections (q and k head-normed, not yet
 * rotated) and o_proj: rotary, the KV cache and softmax(q k^T) v. Returns [B, S, heads * headDim].
 * Two exist: GroupQueryAttention on a shared cache buffer (gqa-attention.ts) and attention that
 * reads the cache as an input (cache-read-attention.ts).
 */
export type AttentionCore = (layer: number, path: string, q: string, k: string, v: string) => string;

/** One Qwen3 decoder layer: x + attn(norm(x)), then + mlp(norm(.)); the MLP output is left pending. */
export function addDecoderLayer(ctx: DecoderContext, layer: number, stream: ResidualStream, attend: AttentionCore): ResidualStream {
  const names = layerWeightNames(layer);
  const path = `/model/layers.${layer}`;
  const input = addResidualNorm(ctx, `${path}/input_layernorm`, stream, names.inputNorm);
  const attentionOut = addAttention(ctx, layer, input.normed, attend);
  const post = addResidualNorm(ctx, `${path}/post_attention_layernorm`, { residual: input.stream.residual, pending: attentionOut }, names.postAttentionNorm);
  const mlpOut = addMlp(ctx, layer, post.normed);
  return { residual: post.stream.residual, pending: mlpOut };
}

/** Self-attention: q/k/v projections, per-head RMSNorm of q and k, the attention core, then o_proj. Returns [B, S, hidden]. */
function addAttention(ctx: DecoderContext, layer: number, x: string, attend: AttentionCore): string {
  const { shape } = ctx;
  const names = layerWeightNames(layer);
  const path = `/model/layers.${layer}/attn`;
  const q = ctx.project(`${path}/q_proj`, x, names.qProj); // [B, S, heads * headDim]
  const k = ctx.project(`${path}/k_proj`, x, names.kProj); // [B, S, kvHeads * headDim]
  const v = ctx.project(`${path}/v_proj`, x, names.vProj); // [B, S, kvHeads * headDim]
  const qNormed = addHeadNorm(ctx, `${path}/q_norm`, q, names.qNorm, shape.numAttentionHeads * shape.headDim);
  const kNormed = addHeadNorm(ctx, `${path}/k_norm`, k, names.kNorm, shape.numKeyValueHeads * shape.headDim);
  const attended = attend(layer, path, qNormed, kNormed, v); // [B, S, heads * headDim]
  return ctx.project(`${path}/o_proj`, attended, names.oProj); // [B, S, hidden]
}

/**
 * Qwen3's q_norm/k_norm: RMSNorm over each head's headDim values. [B, S, heads * headDim] is viewed
 * as [B, S * heads, headDim], normalized on the last axis, and viewed back.
 */
function addHeadNorm(ctx: DecoderContext, nodePath: string, input: string, weightName: string, width: number): string {
  const { g, shape } = ctx;
  const weight = ctx.normWeight(weightName);
  const perHead = g.op('Reshape', `${nodePath}/Reshape_1`, [input, g.int64([0, -1, shape.headDim])]); // [B, S * heads, headDim]
  const normed = g.op('SimplifiedLayerNormalization', `${nodePath}/SimplifiedLayerNorm`, [perHead, weight], {
    epsilon: { float: shape.rmsNormEps },
    axis: -1,
    stash_type: 1,
  });
  return g.op('Reshape', `${nodePath}/Reshape_2`, [normed, g.int64([0, -1, width])]); // [B, S, heads * headDim]
}

/** SwiGLU MLP: down(silu(gate(x)) * up(x)), with silu(z) = z * sigmoid(z). Returns [B, S, hidden]. */
function addMlp(ctx: DecoderContext, layer: number, x: string): string {
  const { g } = ctx;
  const names = layerWeightNames(layer);
  const path = `/model/layers.${layer}/mlp`;
  const gate = ctx.project(`${path}/gate_proj`, x, names.gateProj); // [B, S, ff]
  const up = ctx.project(`${path}/up_proj`, x, names.upProj); // [B, S, ff]
  const sigmoid = g.op('Sigmoid', `${path}/act_fn/Sigmoid`, [gate]);
  const silu = g.op('Mul', `${path}/act_fn/Mul`, [gate, sigmoid]);
  const gated = g.op('Mul', `${path}/Mul`, [silu, up]);
  return ctx.project(`${path}/down_proj`, gated, names.downProj); // [B, S, hidden]
}
