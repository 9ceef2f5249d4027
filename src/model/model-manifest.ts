import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What a model folder in the onnxruntime-genai layout says about itself: where the ONNX graph is,
 * how long a context it was exported for, which tokens end generation, and the sampling defaults
 * its authors recommend. Tensor names, dtypes and KV shapes are deliberately absent: those come
 * from the loaded session's own metadata, because genai_config.json can be wrong about them (the
 * builder's own test model lists a `position_ids` input its graph does not have).
 */
export interface ModelManifest {
  dir: string;
  onnxPath: string;
  /** The export's prefill graph (prefill.onnx), when the folder has one: the runner runs prefill chunks through it. */
  prefillOnnxPath: string | undefined;
  modelType: string;
  contextLength: number;
  vocabSize: number | undefined;
  /** Every token id that ends generation (genai_config's and generation_config's, merged). */
  eosTokenIds: number[];
  bosTokenId: number | undefined;
  padTokenId: number | undefined;
  hasTokenizer: boolean;
  generationDefaults: GenerationDefaults;
}

/** Sampling defaults from generation_config.json, applied when a request leaves them out. */
export interface GenerationDefaults {
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repetitionPenalty?: number;
}

/** The file name `export --prefill-graph` writes (the writer's PREFILL_MODEL_FILE; the runtime does not import the writer). */
const PREFILL_GRAPH_FILE = 'prefill.onnx';

export class ModelFolderError extends Error {
  override name = 'ModelFolderError';
}

export function readModelManifest(dir: string): ModelManifest {
  const genaiPath = join(dir, 'genai_config.json');
  if (!existsSync(genaiPath)) {
    throw new ModelFolderError(
      `${dir} is not an onnxruntime-genai model folder: genai_config.json is missing`,
    );
  }
  const genai = readJson(genaiPath) as GenaiConfigFile;
  const model = genai.model;
  const decoder = model?.decoder;
  if (!model || !decoder?.filename) {
    throw new ModelFolderError(`${genaiPath} has no model.decoder.filename`);
  }
  const onnxPath = join(dir, decoder.filename);
  if (!existsSync(onnxPath)) throw new ModelFolderError(`${onnxPath} does not exist`);
  if (!Number.isInteger(model.context_length) || (model.context_length ?? 0) <= 0) {
    throw new ModelFolderError(`${genaiPath} has no positive model.context_length`);
  }

  const generation = readOptionalJson(join(dir, 'generation_config.json')) as
    | GenerationConfigFile
    | undefined;
  const eos = new Set([...asIds(model.eos_token_id), ...asIds(generation?.eos_token_id)]);

  return {
    dir,
    onnxPath,
    prefillOnnxPath: existsSync(join(dir, PREFILL_GRAPH_FILE)) ? join(dir, PREFILL_GRAPH_FILE) : undefined,
    modelType: model.type ?? 'unknown',
    contextLength: model.context_length as number,
    vocabSize: model.vocab_size,
    eosTokenIds: [...eos],
    bosTokenId: firstId(model.bos_token_id),
    padTokenId: firstId(model.pad_token_id),
    hasTokenizer: existsSync(join(dir, 'tokenizer.json')),
    generationDefaults: {
      temperature: generation?.temperature,
      topP: generation?.top_p,
      topK: generation?.top_k,
      minP: generation?.min_p,
      repetitionPenalty: generation?.repetition_penalty,
    },
  };
}

interface GenaiConfigFile {
  model?: {
    type?: string;
    context_length?: number;
    vocab_size?: number;
    bos_token_id?: number | number[];
    eos_token_id?: number | number[];
    pad_token_id?: number | number[];
    decoder?: { filename?: string };
  };
}

interface GenerationConfigFile {
  eos_token_id?: number | number[];
  temperature?: number;
  top_p?: number;
  top_k?: number;
  min_p?: number;
  repetition_penalty?: number;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ModelFolderError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

function readOptionalJson(path: string): unknown {
  return existsSync(path) ? readJson(path) : undefined;
}

function asIds(value: number | number[] | undefined): number[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function firstId(value: number | number[] | undefined): number | undefined {
  return asIds(value)[0];
}
