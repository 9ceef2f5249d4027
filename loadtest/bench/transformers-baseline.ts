import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { TextStreamer } from '@huggingface/transformers';
import { readModelManifest } from '../../src/model/model-manifest.js';
import { packageVersion } from './machine-info.js';

/** One request of the baseline: a prompt and exactly `newTokens` generated tokens (greedy). */
export interface BaselineRequest {
  promptTokenIds: number[];
  newTokens: number;
}

export interface BaselineRun {
  newTokens: number;
  /** generate() from call to return (prefill + every decode step), ms. */
  wallMs: number;
  /** Between the first and the last generated token: pure decode, ms. */
  decodeMs: number;
}

export interface BaselineResult {
  library: string;
  loadSeconds: number;
  runs: BaselineRun[];
  /** All generated tokens over all generate() time: the requests run one after another. */
  endToEndTokPerSec: number;
  /** Tokens after each request's first, over the time between its first and last token. */
  decodeTokPerSec: number;
  /** The same for the fastest single request (the least disturbed, on a shared machine). */
  bestRunDecodeTokPerSec: number;
}

/** The config and tokenizer files transformers.js reads from a model folder's top level. */
const TOP_LEVEL_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json'];

/**
 * The baseline a Node user would reach for: @huggingface/transformers' AutoModelForCausalLM on the
 * same model files, its generate() with greedy search, each request run to completion before the
 * next (it has no continuous batching). Token ids go in directly, so the prompts are exactly the
 * engine's; min_new_tokens = max_new_tokens makes every request generate its full count (the
 * engine's ignore_eos).
 *
 * transformers.js wants the graph under onnx/ beside the configs, named by dtype (fp32 ->
 * model.onnx), so the genai folder is shown to it through a temporary folder of symlinks; the
 * external data keeps its name (model.onnx.data), which onnxruntime resolves next to the graph.
 */
export async function runTransformersBaseline(modelDir: string, requests: BaselineRequest[], threads?: number): Promise<BaselineResult> {
  const { AutoModelForCausalLM, BaseStreamer, Tensor, env } = await import('@huggingface/transformers');
  const layout = arrangeTransformersLayout(modelDir);
  try {
    env.allowRemoteModels = false;
    env.localModelPath = dirname(layout);
    const started = performance.now();
    const model = await AutoModelForCausalLM.from_pretrained(basename(layout), {
      dtype: 'fp32',
      device: 'cpu',
      local_files_only: true,
      // Off: the data file is found through the graph's own external-data entries instead of
      // transformers.js' `<name>.onnx_data` naming.
      use_external_data_format: false,
      session_options: threads !== undefined ? { intraOpNumThreads: threads } : {},
    });
    const loadSeconds = (performance.now() - started) / 1000;
    const runs: BaselineRun[] = [];
    try {
      for (const request of requests) {
        const tokenTimes: number[] = [];
        // generate() puts the prompt first, then each step's new tokens.
        let puts = 0;
        const streamer = new (class extends BaseStreamer {
          override put(): void {
            if (puts++ > 0) tokenTimes.push(performance.now());
          }
          override end(): void {}
        })();
        const ids = BigInt64Array.from(request.promptTokenIds, BigInt);
        const begun = performance.now();
        await model.generate({
          input_ids: new Tensor('int64', ids, [1, ids.length]),
          attention_mask: new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
          max_new_tokens: request.newTokens,
          min_new_tokens: request.newTokens,
          do_sample: false,
          // The typings ask for BaseStreamer & TextStreamer (a JSDoc artefact); generate() only
          // calls put() and end(), which BaseStreamer declares.
          streamer: streamer as unknown as TextStreamer,
        });
        const wallMs = performance.now() - begun;
        if (tokenTimes.length !== request.newTokens) {
          throw new Error(`transformers.js generated ${tokenTimes.length} tokens where ${request.newTokens} were asked`);
        }
        runs.push({ newTokens: tokenTimes.length, wallMs, decodeMs: tokenTimes[tokenTimes.length - 1] - tokenTimes[0] });
      }
    } finally {
      await model.dispose();
    }
    const tokens = runs.reduce((sum, r) => sum + r.newTokens, 0);
    return {
      library: `@huggingface/transformers ${packageVersion('@huggingface/transformers')}`,
      loadSeconds,
      runs,
      endToEndTokPerSec: (tokens * 1000) / runs.reduce((sum, r) => sum + r.wallMs, 0),
      decodeTokPerSec: ((tokens - runs.length) * 1000) / runs.reduce((sum, r) => sum + r.decodeMs, 0),
      bestRunDecodeTokPerSec: Math.max(...runs.map((r) => ((r.newTokens - 1) * 1000) / r.decodeMs)),
    };
  } finally {
    rmSync(dirname(layout), { recursive: true, force: true });
  }
}

/** A temporary folder `<tmp>/qwen3-bench-hf-*\/model` holding symlinks in transformers.js' layout. */
function arrangeTransformersLayout(modelDir: string): string {
  const manifest = readModelManifest(modelDir);
  const source = resolve(modelDir);
  const layout = join(mkdtempSync(join(tmpdir(), 'qwen3-bench-hf-')), 'model');
  mkdirSync(join(layout, 'onnx'), { recursive: true });
  for (const file of TOP_LEVEL_FILES) symlinkSync(join(source, file), join(layout, file));
  symlinkSync(resolve(manifest.onnxPath), join(layout, 'onnx', 'model.onnx'));
  const dataPath = `${resolve(manifest.onnxPath)}.data`;
  if (existsSync(dataPath)) symlinkSync(dataPath, join(layout, 'onnx', basename(dataPath)));
  return layout;
}
