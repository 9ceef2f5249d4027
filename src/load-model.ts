import { basename, resolve } from 'node:path';
import type { ServedModel } from './api/serving-state.js';
import type { EngineConfig } from './engine/engine-config.js';
import type { SamplingParams } from './engine/sampling/sampling-params.js';
import { EngineClient, type EngineClientOptions } from './engine/worker/engine-client.js';
import { TokenizerPool } from './engine/worker/tokenizer-pool.js';
import { readModelManifest, type GenerationDefaults } from './model/model-manifest.js';
import { loadTokenizer } from './model/tokenizer/load-tokenizer.js';

/**
 * A model to serve: the engine that runs it, its admission queue (EngineClientOptions), and the
 * name clients call it by. `serve` and the offline `batch` command load it the same way.
 */
export interface ServedModelConfig extends EngineClientOptions {
  engine: EngineConfig;
  /** The `model` clients use. Default: the model folder's name. */
  servedModelName?: string;
  /** Tokenizer threads for long prompts (TokenizerPool). Default DEFAULT_TOKENIZER_WORKERS. */
  tokenizerWorkers?: number;
}

export interface LoadedModel {
  engine: EngineClient;
  served: ServedModel;
}

/**
 * The engine worker, the main thread's tokenizer and the tokenizer threads, loaded together. `batchSlots` (the batch
 * executor's concurrency) is added to the admission queue, so the room interactive requests have
 * before a 429 is the same with or without a batch running.
 */
export async function loadModel(config: ServedModelConfig, batchSlots = 0): Promise<LoadedModel> {
  const manifest = readModelManifest(config.engine.modelDir);
  const tokenizers = loadTokenizer(config.engine.modelDir).then(async (tokenizer) => ({
    tokenizer,
    prompts: await TokenizerPool.start(config.engine.modelDir, tokenizer, config.tokenizerWorkers),
  }));
  const [engineResult, tokenizerResult] = await Promise.allSettled([
    EngineClient.start(config.engine, { maxWaiting: config.maxWaiting, reservedSlots: batchSlots }),
    tokenizers,
  ]);
  if (engineResult.status === 'rejected') {
    if (tokenizerResult.status === 'fulfilled') await tokenizerResult.value.prompts.close();
    throw engineResult.reason;
  }
  if (tokenizerResult.status === 'rejected') {
    await engineResult.value.close();
    throw tokenizerResult.reason;
  }
  return {
    engine: engineResult.value,
    served: {
      name: servedModelName(config),
      engine: engineResult.value,
      tokenizer: tokenizerResult.value.tokenizer,
      prompts: tokenizerResult.value.prompts,
      samplingDefaults: samplingDefaults(manifest.generationDefaults),
      created: Math.floor(Date.now() / 1000),
    },
  };
}

/** The `model` name clients use: --served-model-name, else the model folder's name. */
export function servedModelName(config: Pick<ServedModelConfig, 'engine' | 'servedModelName'>): string {
  return config.servedModelName ?? basename(resolve(config.engine.modelDir));
}

/** generation_config.json's recommendations as SamplingParams defaults (only those it sets). */
function samplingDefaults(defaults: GenerationDefaults): Partial<SamplingParams> {
  const result: Partial<SamplingParams> = {};
  if (defaults.temperature !== undefined) result.temperature = defaults.temperature;
  if (defaults.topP !== undefined) result.topP = defaults.topP;
  if (defaults.topK !== undefined) result.topK = defaults.topK;
  if (defaults.minP !== undefined) result.minP = defaults.minP;
  if (defaults.repetitionPenalty !== undefined) result.repetitionPenalty = defaults.repetitionPenalty;
  return result;
}
