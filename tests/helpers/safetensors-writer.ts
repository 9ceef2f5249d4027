import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Qwen3Shape } from '../../src/convert/shape.js';
import { expectedWeightDims, type WeightSource } from '../../src/convert/weights/weight-source.js';

/** The dtypes the test checkpoints are written in. */
export type CheckpointDtype = 'BF16' | 'F16' | 'F32';

/** One tensor as it goes into a safetensors file: already encoded bytes, any dtype label. */
export interface RawTensor {
  dtype: string;
  dims: number[];
  /** Produces the tensor's little-endian bytes when it is written (one tensor in memory at a time). */
  bytes: () => Uint8Array;
  byteLength: number;
}

export interface WriteCheckpointOptions {
  /** Storage dtype of every weight (default F32). */
  dtype?: CheckpointDtype;
  /** 1 writes model.safetensors; more writes that many shards plus model.safetensors.index.json. */
  shards?: number;
}

/**
 * Writes a Hugging Face-style Qwen3 checkpoint folder from any weight source: config.json and the
 * weights in safetensors, reading and writing one tensor at a time.
 */
export function writeSafetensorsCheckpoint(source: WeightSource, dir: string, options: WriteCheckpointOptions = {}): void {
  const dtype = options.dtype ?? 'F32';
  const shardCount = options.shards ?? 1;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(hfConfigFromShape(source.shape, dtype), null, 2));

  const tensors = [...expectedWeightDims(source.shape)].map(([name, dims]) => ({
    name,
    tensor: encodedWeight(source, name, dims, dtype),
  }));
  if (shardCount === 1) {
    writeSafetensorsFile(join(dir, 'model.safetensors'), new Map(tensors.map((t) => [t.name, t.tensor])));
    return;
  }
  const perShard = Math.ceil(tensors.length / shardCount);
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (let shard = 0; shard < shardCount; shard++) {
    const file = `model-${String(shard + 1).padStart(5, '0')}-of-${String(shardCount).padStart(5, '0')}.safetensors`;
    const members = tensors.slice(shard * perShard, (shard + 1) * perShard);
    for (const { name, tensor } of members) {
      weightMap[name] = file;
      totalSize += tensor.byteLength;
    }
    writeSafetensorsFile(join(dir, file), new Map(members.map((t) => [t.name, t.tensor])));
  }
  const index = { metadata: { total_size: totalSize }, weight_map: weightMap };
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index, null, 2));
}

/** One weight from the source, encoded in `dtype` when written; dims are known before reading it. */
export function encodedWeight(source: WeightSource, name: string, dims: number[], dtype: CheckpointDtype): RawTensor {
  const count = dims.reduce((a, b) => a * b, 1);
  return {
    dtype,
    dims,
    byteLength: count * (dtype === 'F32' ? 4 : 2),
    bytes: () => encodeFloat32(source.get(name).data, dtype),
  };
}

/** A Hugging Face Qwen3 config.json for the shape, as transformers writes it. */
export function hfConfigFromShape(shape: Qwen3Shape, dtype: CheckpointDtype = 'F32'): Record<string, unknown> {
  return {
    architectures: ['Qwen3ForCausalLM'],
    model_type: 'qwen3',
    vocab_size: shape.vocabSize,
    hidden_size: shape.hiddenSize,
    intermediate_size: shape.intermediateSize,
    num_hidden_layers: shape.numHiddenLayers,
    num_attention_heads: shape.numAttentionHeads,
    num_key_value_heads: shape.numKeyValueHeads,
    head_dim: shape.headDim,
    hidden_act: 'silu',
    rms_norm_eps: shape.rmsNormEps,
    rope_theta: shape.ropeTheta,
    rope_scaling: null,
    max_position_embeddings: shape.maxPositionEmbeddings,
    tie_word_embeddings: shape.tieWordEmbeddings,
    attention_bias: false,
    attention_dropout: 0,
    use_sliding_window: false,
    bos_token_id: shape.bosTokenId,
    eos_token_id: shape.eosTokenId,
    torch_dtype: { BF16: 'bfloat16', F16: 'float16', F32: 'float32' }[dtype],
  };
}

/**
 * Writes one safetensors file: 8-byte little-endian header length, the JSON header (padded with
 * spaces so the data starts 8-byte aligned, as the reference implementation does), then each
 * tensor's bytes in header order.
 */
export function writeSafetensorsFile(path: string, tensors: Map<string, RawTensor>): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, tensor] of tensors) {
    header[name] = { dtype: tensor.dtype, shape: tensor.dims, data_offsets: [offset, offset + tensor.byteLength] };
    offset += tensor.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));

  const fd = openSync(path, 'w');
  try {
    writeSync(fd, prefix);
    writeSync(fd, json);
    for (const [name, tensor] of tensors) {
      const bytes = tensor.bytes();
      if (bytes.byteLength !== tensor.byteLength) {
        throw new Error(`safetensors writer: ${name} produced ${bytes.byteLength} bytes, declared ${tensor.byteLength}`);
      }
      writeSync(fd, bytes);
    }
  } finally {
    closeSync(fd);
  }
}

/** fp32 values as little-endian bytes of the given dtype, rounding to nearest-even when narrowing. */
export function encodeFloat32(data: Float32Array, dtype: CheckpointDtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const bits = new Uint32Array(Float32Array.from(data).buffer);
  const out = new Uint16Array(data.length);
  const narrow = dtype === 'BF16' ? float32BitsToBf16Bits : float32BitsToHalfBits;
  for (let i = 0; i < data.length; i++) out[i] = narrow(bits[i]);
  return new Uint8Array(out.buffer);
}

/** bfloat16 keeps fp32's upper 16 bits; round the dropped half to nearest, ties to even. */
export function float32BitsToBf16Bits(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff; // NaN stays a quiet NaN
  const roundingBias = 0x7fff + ((bits >>> 16) & 1);
  return ((bits + roundingBias) >>> 16) & 0xffff;
}

/** IEEE binary16 from fp32 bits, round to nearest, ties to even, overflow to infinity. */
export function float32BitsToHalfBits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // inf or NaN
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Subnormal (or zero) in half: the value in units of 2^-24, rounded half to even.
    if (halfExponent < -10) return sign; // below half the smallest subnormal
    const full = mantissa | 0x800000; // implicit leading 1
    const shift = 14 - halfExponent;
    let units = full >>> shift;
    const remainder = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (remainder > halfway || (remainder === halfway && units & 1)) units++;
    return sign | units;
  }
  let halfMantissa = mantissa >>> 13;
  const remainder = mantissa & 0x1fff;
  let e = halfExponent;
  if (remainder > 0x1000 || (remainder === 0x1000 && halfMantissa & 1)) {
    halfMantissa++;
    if (halfMantissa === 0x400) {
      halfMantissa = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | halfMantissa;
}
