import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as transformers from '@huggingface/transformers';
import { PreTrainedTokenizer } from '@huggingface/transformers';
import { ServeError } from '../../errors.js';
import { Tokenizer, type TokenizerFileFacts } from './tokenizer.js';

/** The files a model folder must hold for text in and text out, as Hugging Face writes them. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;

/** Newer Hugging Face exports keep the chat template in its own file instead of the config. */
const CHAT_TEMPLATE_FILE = 'chat_template.jinja';

type TokenizerClass = new (tokenizerJson: unknown, tokenizerConfig: unknown) => PreTrainedTokenizer;

async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function parseJson(text: string, path: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Reported below with the file's path.
  }
  throw new ServeError('server_error', `${path} is not a JSON object`, { code: 'tokenizer_invalid' });
}

/**
 * The class `tokenizer_config.json` names (`Qwen2Tokenizer`, with or without `Fast`), picked the
 * way transformers' AutoTokenizer picks it, but without its hub lookups: those may ask the network.
 */
function tokenizerClass(config: Record<string, unknown>): TokenizerClass {
  const name = typeof config.tokenizer_class === 'string' ? config.tokenizer_class.replace(/Fast$/, '') : '';
  const candidate = (transformers as Record<string, unknown>)[name];
  if (typeof candidate === 'function' && candidate.prototype instanceof PreTrainedTokenizer) {
    return candidate as TokenizerClass;
  }
  return PreTrainedTokenizer as unknown as TokenizerClass;
}

function fileFacts(tokenizerJson: Record<string, unknown>): TokenizerFileFacts {
  const addedTokens = new Map<number, string>();
  const added = Array.isArray(tokenizerJson.added_tokens) ? tokenizerJson.added_tokens : [];
  for (const token of added as { id?: unknown; content?: unknown }[]) {
    if (typeof token.id === 'number' && typeof token.content === 'string') addedTokens.set(token.id, token.content);
  }
  const decoder = tokenizerJson.decoder as { type?: unknown } | null | undefined;
  return { addedTokens, byteLevel: decoder?.type === 'ByteLevel' };
}

/**
 * Loads the tokenizer of a model folder from its own files only (never the network). A folder
 * without them gets a `ServeError` with code `tokenizer_not_found` naming what is missing.
 */
export async function loadTokenizer(modelDir: string): Promise<Tokenizer> {
  const [jsonText, configText, templateText] = await Promise.all([
    readOptional(join(modelDir, 'tokenizer.json')),
    readOptional(join(modelDir, 'tokenizer_config.json')),
    readOptional(join(modelDir, CHAT_TEMPLATE_FILE)),
  ]);
  const missing = TOKENIZER_FILES.filter((_, i) => [jsonText, configText][i] === null);
  if (jsonText === null || configText === null) {
    throw new ServeError(
      'server_error',
      `model folder ${modelDir} has no tokenizer: missing ${missing.join(' and ')} ` +
        '(copy them from the model\'s Hugging Face repository next to the ONNX files)',
      { code: 'tokenizer_not_found' },
    );
  }
  const tokenizerJson = parseJson(jsonText, join(modelDir, 'tokenizer.json'));
  const config = parseJson(configText, join(modelDir, 'tokenizer_config.json'));
  if (config.chat_template === undefined && templateText !== null) config.chat_template = templateText;
  const Class = tokenizerClass(config);
  return new Tokenizer(new Class(tokenizerJson, config), fileFacts(tokenizerJson));
}
