import { Command, InvalidArgumentError, Option } from 'commander';
import { exportQwen3Gguf, GGUF_WEIGHT_TYPES, type GgufWeightType } from '../convert/gguf/write-qwen3-gguf.js';
import { exportQwen3Model } from '../convert/export/export-model.js';
import { stderrTensorProgress } from '../convert/export/export-progress.js';
import { IO_PRECISIONS, type IoPrecision, KV_CACHES, KV_OUTPUTS, type KvCache, type KvOutputs } from '../convert/onnx/decoder-io.js';
import type { WeightFormat } from '../convert/onnx/projection.js';
import { PREFILL_MODEL_FILE } from '../convert/onnx/write-onnx-model.js';
import { isPresetName, PRESETS, type Qwen3Shape } from '../convert/shape.js';
import { createRandomWeightSource } from '../convert/weights/random-source.js';
import { openSafetensorsCheckpoint } from '../convert/weights/safetensors-source.js';
import type { WeightSource } from '../convert/weights/weight-source.js';
import { parsePositiveInt, parsePositiveNumber } from '../cli-options/option-parsers.js';

/** Shape flags and the Qwen3Shape field each one overrides. */
const SHAPE_FLAGS = [
  ['--vocab-size <n>', 'vocabSize'],
  ['--hidden-size <n>', 'hiddenSize'],
  ['--intermediate-size <n>', 'intermediateSize'],
  ['--num-hidden-layers <n>', 'numHiddenLayers'],
  ['--num-attention-heads <n>', 'numAttentionHeads'],
  ['--num-key-value-heads <n>', 'numKeyValueHeads'],
  ['--head-dim <n>', 'headDim'],
  ['--max-position-embeddings <n>', 'maxPositionEmbeddings'],
] as const satisfies readonly (readonly [string, keyof Qwen3Shape])[];

interface ExportFlags {
  format: 'onnx' | 'gguf';
  ggufType?: GgufWeightType;
  preset: string;
  bits: string;
  blockSize: number;
  ioPrecision: IoPrecision;
  seed: number;
  kvOutputs?: KvOutputs;
  kvCache: KvCache;
  prefillGraph?: boolean;
  out: string;
  checkpoint?: string;
  ropeTheta?: number;
  quiet?: boolean;
  [shapeField: string]: unknown;
}

/**
 * `qwen3-serve export`: writes a Qwen3 model folder in the onnxruntime-genai layout, or with
 * `--format gguf` a single GGUF file for llama.cpp (the benchmarks' baseline), from seeded random
 * weights of a preset (or preset plus shape overrides) or from a Hugging Face safetensors
 * checkpoint. The same seed gives both formats the same weights.
 */
export function exportCommand(): Command {
  const command = new Command('export')
    .description('write a Qwen3 ONNX model folder (genai layout: model.onnx, genai_config.json, configs, tokenizer), or a GGUF file for llama.cpp')
    .requiredOption('--out <path>', 'output folder (created if missing); with --format gguf, the .gguf file')
    .addOption(new Option('--format <format>', 'onnx: genai model folder; gguf: one llama.cpp file (qwen3 architecture, Qwen3 vocabulary)').choices(['onnx', 'gguf']).default('onnx'))
    .addOption(new Option('--gguf-type <type>', 'GGUF matrix type (norms stay f32; default q4_0)').choices(Object.keys(GGUF_WEIGHT_TYPES)))
    .addOption(new Option('--preset <name>', 'model shape for random weights').choices(Object.keys(PRESETS)).default('tiny'))
    .addOption(new Option('--bits <bits>', 'ONNX weight format: 4 or 8 (MatMulNBits) or 32 (fp32 MatMul)').choices(['4', '8', '32']).default('4'))
    .option('--block-size <n>', 'ONNX quantization block size along K (power of two >= 16; 32 or 128 are usual)', parseBlockSize, 32)
    .addOption(
      new Option('--io-precision <precision>', "graph inputs and outputs: fp32 (int64 ids, fp32 KV cache and logits) or fp16 (int32 ids, fp16 KV cache and logits, the model builder's fp16 layout: half the KV memory)")
        .choices(IO_PRECISIONS)
        .default('fp32'),
    )
    .option('--seed <n>', 'seed of the random weights', parseSeed, 0)
    .addOption(
      new Option(
        '--kv-outputs <kind>',
        "how the graph returns KV: 'new-positions' (reads the cache as an input, outputs the step's positions; default for fp32) or 'present' (GroupQueryAttention in place, the model builder's layout; default and only choice for fp16)",
      ).choices(KV_OUTPUTS),
    )
    .addOption(
      new Option('--kv-cache <type>', "how the graph holds the KV cache: 'float' (the io precision's type) or 'int8' (8-bit codes with a scale per position and head, read by integer matrix products: a quarter of fp32's memory per token, faster decode at long contexts; needs 'new-positions' KV outputs)")
        .choices(KV_CACHES)
        .default('float'),
    )
    .option('--prefill-graph', `also write ${PREFILL_MODEL_FILE}: the decoder with int8 integer matrix products (activations quantized per row, 7-bit weights per column), which the server runs prefill chunks through; about one more byte per weight`)
    .option('--checkpoint <dir>', 'take shape and weights from a Hugging Face Qwen3 safetensors folder instead of random weights')
    .option('--quiet', 'no progress bar on stderr');
  for (const [flags, field] of SHAPE_FLAGS) {
    command.option(flags, `override the preset's ${field}`, parsePositiveInt);
  }
  command.option('--rope-theta <x>', "override the preset's ropeTheta", parsePositiveNumber);
  command.addHelpText('after', '\nShape flags start from --preset and override single fields; --checkpoint takes everything from the checkpoint.');
  return command.action((flags: ExportFlags, cmd: Command) => runExport(flags, cmd));
}

function runExport(flags: ExportFlags, cmd: Command): void {
  checkFormatFlags(flags, cmd);
  const source = openSource(flags, cmd);
  if (flags.format === 'gguf') return runGgufExport(source, flags, cmd);
  const format: WeightFormat = { bits: Number(flags.bits) as WeightFormat['bits'], blockSize: flags.blockSize };
  const started = performance.now();
  try {
    const result = exportQwen3Model(source, flags.out, {
      format,
      ioPrecision: flags.ioPrecision,
      kvOutputs: flags.kvOutputs,
      kvCache: flags.kvCache,
      prefillGraph: flags.prefillGraph,
      quiet: flags.quiet,
      metadata: { weights: flags.checkpoint ? 'checkpoint' : `random seed ${flags.seed}` },
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
    process.stdout.write(`wrote ${result.dir} in ${seconds} s: graphs ${mb(result.modelBytes)} MB` + (result.dataBytes > 0 ? `, external data ${mb(result.dataBytes)} MB` : '') + `; files: ${result.files.join(', ')}\n`);
  } catch (err) {
    // Shape/format mismatches (e.g. hidden size not a multiple of the block size) surface as RangeError.
    cmd.error(`error: ${(err as Error).message}`);
  } finally {
    source.close();
  }
}

/** --bits/--block-size/--io-precision/--kv-outputs/--kv-cache/--prefill-graph belong to ONNX and --gguf-type to GGUF: a flag the format ignores is an error, not a surprise. */
function checkFormatFlags(flags: ExportFlags, cmd: Command): void {
  const given = (option: string) => cmd.getOptionValueSource(option) === 'cli';
  if (flags.format === 'gguf') {
    const onnxOnly = ([['bits', '--bits'], ['blockSize', '--block-size'], ['ioPrecision', '--io-precision'], ['kvOutputs', '--kv-outputs'], ['kvCache', '--kv-cache'], ['prefillGraph', '--prefill-graph']] as const).filter(([key]) => given(key)).map(([, flag]) => flag);
    if (onnxOnly.length > 0) cmd.error(`error: ${onnxOnly.join(', ')} ${onnxOnly.length === 1 ? 'applies' : 'apply'} to --format onnx; a GGUF's weight type is --gguf-type`);
  } else if (flags.ggufType !== undefined) {
    cmd.error('error: --gguf-type applies to --format gguf');
  }
}

function runGgufExport(source: WeightSource, flags: ExportFlags, cmd: Command): void {
  const type = flags.ggufType ?? 'q4_0';
  const name = flags.checkpoint ? `qwen3 checkpoint ${flags.checkpoint}` : `qwen3 ${flags.preset} random seed ${flags.seed}`;
  const progress = flags.quiet ? null : stderrTensorProgress();
  const started = performance.now();
  let result: ReturnType<typeof exportQwen3Gguf>;
  try {
    result = exportQwen3Gguf(source, flags.out, { type, name, onProgress: progress?.onProgress });
  } catch (err) {
    progress?.stop();
    // Shapes whose rows are not whole 32-value blocks surface as RangeError.
    cmd.error(`error: ${(err as Error).message}`);
  } finally {
    source.close();
  }
  progress?.stop();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(`wrote ${result.path} in ${seconds} s: GGUF ${type}, ${(result.bytes / 1e6).toFixed(1)} MB, ${result.tensors} tensors\n`);
}

function openSource(flags: ExportFlags, cmd: Command): WeightSource {
  const overridden = SHAPE_FLAGS.filter(([, field]) => flags[field] !== undefined).map(([flag]) => flag.split(' ')[0]);
  if (flags.ropeTheta !== undefined) overridden.push('--rope-theta');
  if (flags.checkpoint) {
    const conflicting = [...overridden, ...(cmd.getOptionValueSource('preset') === 'cli' ? ['--preset'] : []), ...(cmd.getOptionValueSource('seed') === 'cli' ? ['--seed'] : [])];
    if (conflicting.length > 0) cmd.error(`error: --checkpoint takes the shape and weights from the checkpoint; drop ${conflicting.join(', ')}`);
    try {
      return openSafetensorsCheckpoint(flags.checkpoint);
    } catch (err) {
      cmd.error(`error: ${(err as Error).message}`);
    }
  }
  if (!isPresetName(flags.preset)) cmd.error(`error: unknown preset ${flags.preset}`);
  const shape: Qwen3Shape = { ...PRESETS[flags.preset] };
  for (const [, field] of SHAPE_FLAGS) {
    if (flags[field] !== undefined) shape[field] = flags[field] as number;
  }
  if (flags.ropeTheta !== undefined) shape.ropeTheta = flags.ropeTheta;
  const problem = shapeProblem(shape);
  if (problem) cmd.error(`error: ${problem}`);
  return createRandomWeightSource(shape, flags.seed);
}

/** What makes a shape unbuildable, in words, or null. */
function shapeProblem(shape: Qwen3Shape): string | null {
  if (shape.numAttentionHeads % shape.numKeyValueHeads !== 0) {
    return `--num-attention-heads ${shape.numAttentionHeads} must be a multiple of --num-key-value-heads ${shape.numKeyValueHeads}`;
  }
  if (shape.headDim % 2 !== 0) return `--head-dim ${shape.headDim} must be even (rotary embeddings rotate pairs)`;
  const specialTokens = Math.max(shape.bosTokenId, shape.eosTokenId, shape.padTokenId);
  if (shape.vocabSize <= specialTokens) {
    return `--vocab-size ${shape.vocabSize} must exceed Qwen3's special token ids (up to ${specialTokens}) for the tokenizer to fit`;
  }
  return null;
}

function parseSeed(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 0xffffffff) throw new InvalidArgumentError('expected an integer in [0, 4294967295]');
  return n;
}

function parseBlockSize(value: string): number {
  const n = parsePositiveInt(value);
  if (n < 16 || (n & (n - 1)) !== 0) throw new InvalidArgumentError('expected a power of two >= 16 (32 or 128 are usual)');
  return n;
}
