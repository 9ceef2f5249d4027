import { readdirSync, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ServeError } from '../errors.js';
import type { ModelRunner } from '../model/model-runner.js';
import { readModelManifest } from '../model/model-manifest.js';
import { detectCpu } from '../model/runner/cpu-features.js';
import { OnnxRunner } from '../model/runner/onnx-runner.js';
import { loadTokenizer } from '../model/tokenizer/load-tokenizer.js';
import { GrammarCompiler } from './constraints/grammar-compiler.js';
import { DEFAULT_DEVICE, DEFAULT_MAX_SEQS, type EngineConfig } from './engine-config.js';
import { EngineCore } from './engine-core.js';
import type { EngineInfo } from './engine-info.js';

/** Longest default row: long prompts prefill at ~20 tok/s on a small CPU, so 8k is already minutes. */
const DEFAULT_MAX_MODEL_LEN = 8192;
/** Default share of system memory for the KV cache. */
const DEFAULT_KV_MEMORY_SHARE = 0.25;

/**
 * Builds a ready engine from its configuration: model folder -> runner with a KV pool sized from
 * the memory budget -> tokenizer -> EngineCore. Used by the engine worker, and directly by tests.
 */
export async function loadEngine(config: EngineConfig): Promise<{ core: EngineCore; info: EngineInfo }> {
  const started = performance.now();
  const device = config.device ?? DEFAULT_DEVICE;
  const maxSeqs = config.maxSeqs ?? DEFAULT_MAX_SEQS;
  const manifest = readModelManifest(config.modelDir);
  const maxLen = config.maxModelLen ?? Math.min(manifest.contextLength, DEFAULT_MAX_MODEL_LEN);
  if (maxLen > manifest.contextLength) {
    throw new ServeError('server_error', `max model length ${maxLen} exceeds the model's context length ${manifest.contextLength}`, {
      code: 'invalid_config',
    });
  }
  const runner = await OnnxRunner.open({
    onnxPath: manifest.onnxPath,
    prefillOnnxPath: config.prefillGraph === false ? undefined : manifest.prefillOnnxPath,
    device,
    threads: config.threads,
    spinning: config.spinning,
    maxSeqs,
    maxLen,
  });
  try {
    const kvMemoryBytes = config.kvMemoryBytes ?? Math.floor(totalmem() * DEFAULT_KV_MEMORY_SHARE);
    const kvTokenBudget = Math.min(maxSeqs * maxLen, Math.floor(kvMemoryBytes / runner.info.kvBytesPerToken));
    if (kvTokenBudget < 2) {
      throw new ServeError('server_error', `a KV memory budget of ${kvMemoryBytes} bytes holds no sequence (${runner.info.kvBytesPerToken} bytes per token)`, {
        code: 'invalid_config',
      });
    }
    const tokenizer = manifest.hasTokenizer ? await loadTokenizer(config.modelDir) : null;
    const grammars = tokenizer
      ? new GrammarCompiler(() => ({
          entries: tokenizer.vocabularyEntries(),
          vocabType: tokenizer.byteLevel ? 'byte_level' : 'raw',
          logitsWidth: runner.info.vocabSize,
          stopTokenIds: manifest.eosTokenIds,
        }))
      : null;
    const core = new EngineCore({
      runner: config.runnerDecorator ? await decorateRunner(runner, config.runnerDecorator) : runner,
      decoder: tokenizer,
      grammars,
      eosTokenIds: manifest.eosTokenIds,
      scheduler: { ...config.scheduler, kvTokenBudget },
    });
    const info: EngineInfo = {
      modelDir: config.modelDir,
      modelType: manifest.modelType,
      device,
      contextLength: manifest.contextLength,
      contextLimit: core.contextLimit,
      vocabSize: runner.info.vocabSize,
      maxSeqs: runner.info.maxSeqs,
      maxLen,
      kvBytesPerToken: runner.info.kvBytesPerToken,
      kvTokenBudget,
      kvReservedBytes: runner.info.kvReservedBytes,
      weightBytes: modelFileBytes(config.modelDir),
      eosTokenIds: manifest.eosTokenIds,
      hasTokenizer: tokenizer !== null,
      loadSeconds: (performance.now() - started) / 1000,
      cpu: detectCpu(),
      threads: runner.threads,
      spinning: runner.spinning,
      kvOutputs: runner.kvOutputs,
      kvCache: runner.kvCacheType,
      prefillGraph: runner.hasPrefillGraph,
    };
    return { core, info };
  } catch (err) {
    await runner.close();
    throw err;
  }
}

/** The runner wrapped by a fault-injection module (EngineConfig.runnerDecorator). */
async function decorateRunner(runner: ModelRunner, decorator: NonNullable<EngineConfig['runnerDecorator']>): Promise<ModelRunner> {
  const url = /^[a-z]+:/.test(decorator.module) ? decorator.module : pathToFileURL(decorator.module).href;
  const loaded = (await import(url)) as { default: (runner: ModelRunner, options: unknown) => ModelRunner };
  return loaded.default(runner, decorator.options);
}

/** Bytes of the ONNX graph and its external weight files. */
function modelFileBytes(dir: string): number {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.onnx') || name.endsWith('.onnx.data') || name.endsWith('.data'))
    .reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}
