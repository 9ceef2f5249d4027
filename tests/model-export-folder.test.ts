import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportQwen3Model } from '../src/convert/export/export-model.js';
import { bundledTokenizerPath } from '../src/convert/export/tokenizer-files.js';
import { readModelManifest } from '../src/model/model-manifest.js';
import { PRESETS } from '../src/convert/shape.js';
import { createRandomWeightSource } from '../src/convert/weights/random-source.js';
import { qwen3ShapeFromConfig } from '../src/convert/weights/safetensors-checkpoint-config.js';
import { TINY_MODEL_FORMATS, TINY_MODEL_SEED, tinyModelDir, type TinyModelFormat } from './helpers/models.js';

const tiny = PRESETS.tiny;
const FILES = ['config.json', 'genai_config.json', 'generation_config.json', 'model.onnx', 'tokenizer.json', 'tokenizer_config.json'];
const readJson = (dir: string, file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8'));
const scratch = mkdtempSync(join(tmpdir(), 'qwen3-export-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.each(Object.keys(TINY_MODEL_FORMATS) as TinyModelFormat[])('exported tiny %s folder', (format) => {
  const dir = tinyModelDir(format);

  it('holds every file of the genai layout, weights inside model.onnx (below the external-data threshold)', () => {
    expect(readdirSync(dir).filter((f) => f !== 'complete.json').sort()).toEqual(FILES);
  });

  it('has a genai_config.json in the model builder schema', () => {
    const genai = readJson(dir, 'genai_config.json');
    expect(genai.model).toMatchObject({
      type: 'qwen3',
      bos_token_id: 151643,
      eos_token_id: [151645, 151643],
      pad_token_id: 151643,
      context_length: tiny.maxPositionEmbeddings,
      vocab_size: 151936,
    });
    expect(genai.model.decoder).toEqual({
      session_options: { log_id: 'onnxruntime-genai', provider_options: [] },
      filename: 'model.onnx',
      head_size: tiny.headDim,
      hidden_size: tiny.hiddenSize,
      inputs: {
        input_ids: 'input_ids',
        attention_mask: 'attention_mask',
        past_key_names: 'past_key_values.%d.key',
        past_value_names: 'past_key_values.%d.value',
      },
      outputs: { logits: 'logits', present_key_names: 'present.%d.key', present_value_names: 'present.%d.value' },
      num_attention_heads: tiny.numAttentionHeads,
      num_hidden_layers: tiny.numHiddenLayers,
      num_key_value_heads: tiny.numKeyValueHeads,
    });
    expect(genai.search).toMatchObject({ past_present_share_buffer: true, max_length: tiny.maxPositionEmbeddings, num_beams: 1, do_sample: true, temperature: 0.6, top_k: 20, top_p: 0.95 });
  });

  it('has a Hugging Face config.json that parses back to the exported shape', () => {
    const config = readJson(dir, 'config.json');
    expect(config).toMatchObject({ architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', hidden_act: 'silu', tie_word_embeddings: true, rope_scaling: null });
    expect(qwen3ShapeFromConfig(config, 'config.json')).toEqual(tiny);
  });

  it("has Qwen3's generation_config.json", () => {
    expect(readJson(dir, 'generation_config.json')).toEqual({
      bos_token_id: 151643,
      eos_token_id: [151645, 151643],
      pad_token_id: 151643,
      do_sample: true,
      temperature: 0.6,
      top_k: 20,
      top_p: 0.95,
    });
  });

  it('ships the real Qwen3 tokenizer and chat template, byte for byte', () => {
    for (const file of ['tokenizer.json', 'tokenizer_config.json'] as const) {
      expect(readFileSync(join(dir, file)).equals(readFileSync(bundledTokenizerPath(file))), file).toBe(true);
    }
    const tokenizer = readJson(dir, 'tokenizer.json');
    const imEnd = tokenizer.added_tokens.find((t: { content: string }) => t.content === '<|im_end|>');
    expect(imEnd.id).toBe(151645);
    expect(readJson(dir, 'tokenizer_config.json').chat_template).toContain('<|im_start|>');
  });

  it("is accepted by the runner's model folder reader", () => {
    const manifest = readModelManifest(dir);
    expect(manifest).toMatchObject({ modelType: 'qwen3', contextLength: tiny.maxPositionEmbeddings, hasTokenizer: true, bosTokenId: 151643, padTokenId: 151643 });
    expect(manifest.eosTokenIds.sort()).toEqual([151643, 151645]);
    expect(manifest.generationDefaults).toMatchObject({ temperature: 0.6, topK: 20, topP: 0.95 });
  });
});

describe('export determinism', () => {
  const exportInt4 = (seed: number, name: string) => {
    const source = createRandomWeightSource(tiny, seed);
    exportQwen3Model(source, join(scratch, name), { format: TINY_MODEL_FORMATS.int4, quiet: true, metadata: { weights: `random seed ${seed}` } });
    return join(scratch, name);
  };

  it('gives byte-identical files for the same seed and options', () => {
    const again = exportInt4(TINY_MODEL_SEED, 'same-seed');
    for (const file of FILES) {
      expect(readFileSync(join(again, file)).equals(readFileSync(join(tinyModelDir('int4'), file))), file).toBe(true);
    }
  });

  it('gives different weights for another seed', () => {
    const other = exportInt4(TINY_MODEL_SEED + 1, 'other-seed');
    expect(readFileSync(join(other, 'model.onnx')).equals(readFileSync(join(tinyModelDir('int4'), 'model.onnx')))).toBe(false);
    expect(readFileSync(join(other, 'genai_config.json'), 'utf8')).toBe(readFileSync(join(tinyModelDir('int4'), 'genai_config.json'), 'utf8'));
  });
});
