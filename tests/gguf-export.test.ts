import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGgufFileInfo, type GgufFileInfo } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GGML_TYPES, GgufTokenType } from '../src/convert/gguf/gguf-format.js';
import { exportQwen3Gguf, type GgufWeightType } from '../src/convert/gguf/write-qwen3-gguf.js';
import { bundledTokenizerPath } from '../src/convert/export/tokenizer-files.js';
import { PRESETS, type Qwen3Shape } from '../src/convert/shape.js';
import { createRandomWeightSource } from '../src/convert/weights/random-source.js';
import { openSafetensorsCheckpoint } from '../src/convert/weights/safetensors-source.js';
import { dequantizeQ4_0, dequantizeQ8_0 } from './helpers/gguf-blocks.js';
import { writeSafetensorsCheckpoint } from './helpers/safetensors-writer.js';

const SEED = 4;
const shape = PRESETS.tiny;
const scratch = mkdtempSync(join(tmpdir(), 'gguf-export-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const files = {} as Record<GgufWeightType, string>;
const infos = {} as Record<GgufWeightType, GgufFileInfo>;

function exportTiny(type: GgufWeightType, path = join(scratch, `tiny-${type}.gguf`), from: Qwen3Shape = shape): string {
  const source = createRandomWeightSource(from, SEED);
  try {
    exportQwen3Gguf(source, path, { type, name: `tiny seed ${SEED}` });
  } finally {
    source.close();
  }
  return path;
}

/** One tensor's bytes as the file holds them (fileOffset: from the start of the file). */
function tensorBytes(path: string, info: GgufFileInfo, name: string, byteLength: number): Uint8Array {
  const tensor = info.tensorInfo!.find((t) => t.name === name)!;
  return new Uint8Array(readFileSync(path).buffer).subarray(Number(tensor.fileOffset), Number(tensor.fileOffset) + byteLength);
}

/** Byte equality (vitest's deep equality walks a 19M-value array element by element: minutes). */
function sameBytes(a: Uint8Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

beforeAll(async () => {
  for (const type of ['f32', 'q8_0', 'q4_0'] as const) {
    files[type] = exportTiny(type);
    infos[type] = await readGgufFileInfo(files[type], { logWarnings: false });
  }
});

describe('GGUF export of the tiny preset (parsed back by node-llama-cpp)', () => {
  it('holds the qwen3 architecture keys of the shape', () => {
    const { metadata, version } = infos.q4_0;
    expect(version).toBe(3);
    expect(metadata.general).toMatchObject({ architecture: 'qwen3', name: `tiny seed ${SEED}`, file_type: 2, quantization_version: 2, alignment: 32 });
    expect(infos.q8_0.metadata.general.file_type).toBe(7);
    expect(infos.f32.metadata.general.file_type).toBe(0);
    const arch = infos.q4_0.architectureMetadata;
    expect(arch).toMatchObject({
      context_length: shape.maxPositionEmbeddings,
      embedding_length: shape.hiddenSize,
      block_count: shape.numHiddenLayers,
      feed_forward_length: shape.intermediateSize,
      attention: { head_count: shape.numAttentionHeads, head_count_kv: shape.numKeyValueHeads, key_length: shape.headDim, value_length: shape.headDim },
      rope: { freq_base: shape.ropeTheta },
    });
    expect(arch.attention?.layer_norm_rms_epsilon).toBeCloseTo(shape.rmsNormEps, 12);
  });

  it('carries the real Qwen3 vocabulary, merges, special ids and chat template', () => {
    const tokenizer = infos.q4_0.metadata.tokenizer;
    const hf = JSON.parse(readFileSync(bundledTokenizerPath('tokenizer.json'), 'utf8'));
    const config = JSON.parse(readFileSync(bundledTokenizerPath('tokenizer_config.json'), 'utf8'));
    const ggml = tokenizer.ggml;
    expect(ggml.model).toBe('gpt2');
    expect(ggml.pre).toBe('qwen2');
    expect(ggml.tokens).toHaveLength(shape.vocabSize);
    expect(ggml.token_type).toHaveLength(shape.vocabSize);
    expect(ggml.tokens[9707]).toBe('Hello');
    expect(ggml.tokens[hf.model.vocab['Ġworld']]).toBe('Ġworld');
    expect(ggml.token_type[9707]).toBe(GgufTokenType.NORMAL);
    expect([ggml.tokens[151645], ggml.token_type[151645]]).toEqual(['<|im_end|>', GgufTokenType.CONTROL]);
    expect([ggml.tokens[151659], ggml.token_type[151659]]).toEqual(['<|fim_prefix|>', GgufTokenType.CONTROL]);
    expect([ggml.tokens[151667], ggml.token_type[151667]]).toEqual(['<think>', GgufTokenType.USER_DEFINED]);
    expect([ggml.tokens[151935], ggml.token_type[151935]]).toEqual(['[PAD151935]', GgufTokenType.UNUSED]);
    expect(ggml.merges).toHaveLength(hf.model.merges.length);
    expect(ggml.merges?.slice(0, 2)).toEqual(['Ġ Ġ', 'ĠĠ ĠĠ']);
    expect([ggml.eos_token_id, ggml.padding_token_id, ggml.bos_token_id, ggml.add_bos_token]).toEqual([151645, 151643, 151643, false]);
    expect(tokenizer.chat_template).toBe(config.chat_template);
  });

  it("names, shapes and types every tensor as llama.cpp's qwen3 loader expects, each aligned", () => {
    const tensors = infos.q4_0.tensorInfo!;
    expect(tensors).toHaveLength(2 + 11 * shape.numHiddenLayers); // tied: no output.weight
    const byName = new Map(tensors.map((t) => [t.name, t]));
    const { hiddenSize: h, intermediateSize: ff, headDim: d, vocabSize: v } = shape;
    const q = shape.numAttentionHeads * d;
    const kv = shape.numKeyValueHeads * d;
    const expected: [string, number[], number][] = [
      ['token_embd.weight', [h, v], GGML_TYPES.Q4_0.id],
      ['output_norm.weight', [h], GGML_TYPES.F32.id],
      ['blk.1.attn_norm.weight', [h], GGML_TYPES.F32.id],
      ['blk.1.attn_q.weight', [h, q], GGML_TYPES.Q4_0.id],
      ['blk.1.attn_k.weight', [h, kv], GGML_TYPES.Q4_0.id],
      ['blk.1.attn_v.weight', [h, kv], GGML_TYPES.Q4_0.id],
      ['blk.1.attn_output.weight', [q, h], GGML_TYPES.Q4_0.id],
      ['blk.1.attn_q_norm.weight', [d], GGML_TYPES.F32.id],
      ['blk.1.attn_k_norm.weight', [d], GGML_TYPES.F32.id],
      ['blk.1.ffn_norm.weight', [h], GGML_TYPES.F32.id],
      ['blk.1.ffn_gate.weight', [h, ff], GGML_TYPES.Q4_0.id],
      ['blk.1.ffn_up.weight', [h, ff], GGML_TYPES.Q4_0.id],
      ['blk.1.ffn_down.weight', [ff, h], GGML_TYPES.Q4_0.id],
    ];
    for (const [name, dims, type] of expected) {
      expect(byName.get(name)?.dimensions.map(Number), name).toEqual(dims);
      expect(byName.get(name)?.ggmlType, name).toBe(type);
    }
    for (const t of tensors) expect(Number(t.fileOffset) % 32, t.name).toBe(0);
    // The data section ends with the last tensor, padded: nothing is missing or left over.
    const last = tensors[tensors.length - 1];
    expect(statSync(files.q4_0).size).toBe(Number(last.fileOffset) + 32 * Math.ceil((last.dimensions.map(Number).reduce((a, b) => a * b) * 4) / 32));
  });

  it('stores the seeded weights: F32 exactly, Q8_0 and Q4_0 within half a block step', () => {
    const weights = createRandomWeightSource(shape, SEED);
    const embedding = weights.get('model.embed_tokens.weight').data;
    const f32 = tensorBytes(files.f32, infos.f32, 'token_embd.weight', embedding.byteLength);
    expect(sameBytes(f32, embedding)).toBe(true);
    const down = weights.get('model.layers.1.mlp.down_proj.weight').data; // [hidden, intermediate]: rows of 384
    const step = (values: Float32Array, levels: number) => Math.max(...values.map(Math.abs)) / levels;
    for (const [type, blockBytes, dequantize, levels] of [
      ['q8_0', 34, dequantizeQ8_0, 127],
      ['q4_0', 18, dequantizeQ4_0, 8],
    ] as const) {
      const bytes = tensorBytes(files[type], infos[type], 'blk.1.ffn_down.weight', (down.length / 32) * blockBytes);
      const back = dequantize(bytes, down.length);
      // The worst error as a share of its bound (one assertion: 49k expect() calls take seconds).
      let worst = 0;
      for (let block = 0; block < down.length / 32; block++) {
        const values = down.subarray(block * 32, block * 32 + 32);
        // Half a step, plus the fp16 rounding of the stored scale (2^-11 relative) times the largest code.
        const bound = step(values, levels) * (0.5 + levels * 2 ** -11);
        for (let j = 0; j < 32; j++) {
          // Q4_0's grid reaches 7 d on the side opposite the extreme: values beyond clamp there.
          const clamped = type === 'q4_0' ? Math.max(0, Math.abs(values[j]) - 7.5 * step(values, 8)) : 0;
          worst = Math.max(worst, Math.abs(back[block * 32 + j] - values[j]) / (bound + clamped));
        }
      }
      expect(worst, type).toBeLessThanOrEqual(1);
      expect(worst, type).toBeGreaterThan(0.5); // the bound is tight: some value is near half a step off
    }
    weights.close();
  });

  it('writes identical bytes for the same seed and type', () => {
    const again = exportTiny('q4_0', join(scratch, 'again-q4_0.gguf'));
    const hash = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
    expect(hash(again)).toBe(hash(files.q4_0));
  });

  it('refuses a shape whose rows are not whole blocks, leaving no file behind', () => {
    const odd: Qwen3Shape = { ...shape, hiddenSize: 80, numHiddenLayers: 1 };
    const path = join(scratch, 'odd.gguf');
    expect(() => exportTiny('q8_0', path, odd)).toThrow(/hidden size 80 is not a multiple of 32/);
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(scratch).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('takes a safetensors checkpoint with untied embeddings and writes its LM head as output.weight', async () => {
    const untied: Qwen3Shape = { ...shape, numHiddenLayers: 1, tieWordEmbeddings: false };
    const checkpoint = join(scratch, 'checkpoint');
    writeSafetensorsCheckpoint(createRandomWeightSource(untied, SEED), checkpoint);
    const source = openSafetensorsCheckpoint(checkpoint);
    const path = join(scratch, 'untied-f32.gguf');
    try {
      exportQwen3Gguf(source, path, { type: 'f32', name: 'untied' });
    } finally {
      source.close();
    }
    const info = await readGgufFileInfo(path, { logWarnings: false });
    expect(info.tensorInfo!.map((t) => t.name)).toContain('output.weight');
    const lmHead = createRandomWeightSource(untied, SEED).get('lm_head.weight').data;
    expect(sameBytes(tensorBytes(path, info, 'output.weight', lmHead.byteLength), lmHead)).toBe(true);
  });
});
