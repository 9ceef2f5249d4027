import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Qwen3Shape } from '../shape.js';

const count = z.number().int().positive();
const tokenId = z.number().int().nonnegative();

/**
 * The fields of a Hugging Face Qwen3 `config.json` this project reads. Defaults are those of
 * transformers' Qwen3Config where the field may be absent; unknown fields pass through.
 */
const qwen3ConfigSchema = z
  .object({
    model_type: z.literal('qwen3', { message: 'model_type must be "qwen3" (only Qwen3 dense models are supported)' }),
    vocab_size: count,
    hidden_size: count,
    intermediate_size: count,
    num_hidden_layers: count,
    num_attention_heads: count,
    num_key_value_heads: count.optional(),
    head_dim: count.optional(),
    rms_norm_eps: z.number().positive().default(1e-6),
    rope_theta: z.number().positive().optional(),
    // transformers 5 moved rope_theta here.
    rope_parameters: z.object({ rope_theta: z.number().positive().optional() }).loose().nullish(),
    rope_scaling: z.object({ rope_type: z.string().optional(), type: z.string().optional() }).loose().nullish(),
    max_position_embeddings: count.default(32768),
    tie_word_embeddings: z.boolean().default(false),
    hidden_act: z.literal('silu', { message: 'hidden_act must be "silu"' }).default('silu'),
    attention_bias: z.literal(false, { message: 'attention_bias must be false (q/k/v/o biases are not supported)' }).default(false),
    use_sliding_window: z.literal(false, { message: 'use_sliding_window must be false' }).default(false),
    bos_token_id: tokenId,
    eos_token_id: z.union([tokenId, z.array(tokenId).nonempty()]),
    pad_token_id: tokenId.nullish(),
  })
  .loose();

/** Converts a parsed `config.json` to a Qwen3Shape; `origin` names the file in errors. */
export function qwen3ShapeFromConfig(json: unknown, origin: string): Qwen3Shape {
  const parsed = qwen3ConfigSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`checkpoint config ${origin} is not a supported Qwen3 config:\n${z.prettifyError(parsed.error)}`);
  }
  const c = parsed.data;
  const ropeType = c.rope_scaling?.rope_type ?? c.rope_scaling?.type ?? 'default';
  if (ropeType !== 'default') {
    throw new Error(`checkpoint config ${origin}: rope_scaling type "${ropeType}" is not supported (plain rotary only)`);
  }
  const numKeyValueHeads = c.num_key_value_heads ?? c.num_attention_heads;
  if (c.num_attention_heads % numKeyValueHeads !== 0) {
    throw new Error(
      `checkpoint config ${origin}: num_attention_heads ${c.num_attention_heads} is not a multiple of num_key_value_heads ${numKeyValueHeads}`,
    );
  }
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  if (!Number.isInteger(headDim)) {
    throw new Error(`checkpoint config ${origin}: no head_dim and hidden_size does not divide by num_attention_heads`);
  }
  // A list of end tokens (as generation configs carry) collapses to its first: the chat-turn end.
  const eosTokenId = Array.isArray(c.eos_token_id) ? c.eos_token_id[0] : c.eos_token_id;
  return {
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    numHiddenLayers: c.num_hidden_layers,
    numAttentionHeads: c.num_attention_heads,
    numKeyValueHeads,
    headDim,
    rmsNormEps: c.rms_norm_eps,
    ropeTheta: c.rope_theta ?? c.rope_parameters?.rope_theta ?? 10_000,
    maxPositionEmbeddings: c.max_position_embeddings,
    tieWordEmbeddings: c.tie_word_embeddings,
    bosTokenId: c.bos_token_id,
    eosTokenId,
    // Qwen3 checkpoints leave pad unset; its tokenizer pads with <|endoftext|>, the bos token.
    padTokenId: c.pad_token_id ?? c.bos_token_id,
  };
}

/** Reads `config.json` from a Hugging Face checkpoint folder. */
export function readQwen3CheckpointConfig(dir: string): Qwen3Shape {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new Error(`checkpoint ${dir} has no config.json`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`checkpoint config ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return qwen3ShapeFromConfig(json, path);
}
