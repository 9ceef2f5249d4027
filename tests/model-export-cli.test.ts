import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CommanderError } from 'commander';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, describe, expect, it } from 'vitest';
import { exportCommand } from '../src/commands/export.js';
import { exportQwen3Model } from '../src/convert/export/export-model.js';
import { decodeModel, onnx } from '../src/convert/onnx/proto-factory.js';
import { PRESETS } from '../src/convert/shape.js';
import { createRandomWeightSource } from '../src/convert/weights/random-source.js';
import { writeSafetensorsCheckpoint } from './helpers/safetensors-writer.js';

const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'qwen3-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs `export` in-process; resolves to what it printed on stderr when it fails. */
async function exportErrorOf(args: string[]): Promise<string> {
  let stderr = '';
  const command = exportCommand()
    .exitOverride()
    .configureOutput({ writeErr: (text) => (stderr += text), writeOut: () => {} });
  await expect(command.parseAsync(args, { from: 'user' })).rejects.toBeInstanceOf(CommanderError);
  return stderr;
}

/** The CLI as the bin script runs it, through tsx instead of the compiled dist/. */
function cli(args: string[]) {
  return run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: join(import.meta.dirname, '..') });
}

describe('qwen3-serve export flags', () => {
  const out = join(scratch, 'never-written');
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it.each([
    [['--bits', '3', '--out', out], /--bits.*Allowed choices are 4, 8, 32/],
    [['--io-precision', 'bf16', '--out', out], /--io-precision.*Allowed choices are fp32, fp16/],
    [['--block-size', '48', '--out', out], /power of two >= 16/],
    [['--preset', 'qwen3-8b', '--out', out], /Allowed choices are tiny, qwen3-4b/],
    [['--seed', '-1', '--out', out], /--seed/],
    [['--hidden-size', '0', '--out', out], /positive integer/],
    [[], /required option '--out <path>'/],
    [['--num-key-value-heads', '3', '--out', out], /--num-attention-heads 4 must be a multiple of --num-key-value-heads 3/],
    [['--head-dim', '33', '--out', out], /--head-dim 33 must be even/],
    [['--hidden-size', '80', '--out', out], /hidden size 80 must be a multiple of the block size 32/],
    [['--format', 'gguf', '--bits', '8', '--out', out], /--bits applies to --format onnx; a GGUF's weight type is --gguf-type/],
    [['--gguf-type', 'q8_0', '--out', out], /--gguf-type applies to --format gguf/],
    [['--io-precision', 'fp16', '--kv-outputs', 'new-positions', '--out', out], /'new-positions' need io precision fp32/],
    [['--format', 'gguf', '--kv-outputs', 'present', '--out', out], /--kv-outputs applies to --format onnx/],
    [['--format', 'gguf', '--gguf-type', 'q5_k', '--out', out], /Allowed choices are f32, q8_0, q4_0/],
    [['--format', 'gguf', '--hidden-size', '80', '--out', out], /Q4_0 stores rows in blocks of 32: hidden size 80 is not a multiple of 32/],
    [['--checkpoint', join(scratch, 'missing'), '--out', out], /does not exist/],
    [['--checkpoint', scratch, '--seed', '2', '--hidden-size', '64', '--out', out], /drop --hidden-size, --seed/],
  ])('rejects %j with a clear message', async (args, message) => {
    expect(await exportErrorOf(args)).toMatch(message);
    expect(() => readdirSync(out)).toThrow();
  });

  it('shows help listing every flag', async () => {
    const { stdout } = await cli(['export', '--help']);
    for (const flag of ['--preset', '--format', '--gguf-type', '--bits', '--block-size', '--io-precision', '--kv-outputs', '--seed', '--out', '--checkpoint', '--hidden-size', '--num-hidden-layers', '--quiet']) {
      expect(stdout).toContain(flag);
    }
  });
});

describe('qwen3-serve export --io-precision', () => {
  it('fp16 writes int32 ids and fp16 KV cache and logits; the default stays int64 and fp32', async () => {
    const ioTypes = (dir: string) => {
      const graph = decodeModel(readFileSync(join(dir, 'model.onnx'))).graph!;
      const types = new Map([...graph.input!, ...graph.output!].map((v) => [v.name!, v.type!.tensorType!.elemType]));
      const kvOut = types.get('present.0.key') ?? types.get('new_key_values.0.key');
      return { ids: types.get('input_ids'), mask: types.get('attention_mask'), past: types.get('past_key_values.0.value'), kvOut, logits: types.get('logits') };
    };
    const { INT32, INT64, FLOAT, FLOAT16 } = onnx.TensorProto.DataType;
    for (const [precision, expected] of [
      ['fp16', { ids: INT32, mask: INT64, past: FLOAT16, kvOut: FLOAT16, logits: FLOAT16 }],
      ['fp32', { ids: INT64, mask: INT64, past: FLOAT, kvOut: FLOAT, logits: FLOAT }],
    ] as const) {
      const dir = join(scratch, `io-${precision}`);
      await exportCommand().parseAsync(['--num-hidden-layers', '1', '--io-precision', precision, '--out', dir, '--quiet'], { from: 'user' });
      expect(ioTypes(dir)).toEqual(expected);
    }
  });
});

describe('qwen3-serve export --kv-outputs', () => {
  const outputNames = (dir: string) => decodeModel(readFileSync(join(dir, 'model.onnx'))).graph!.output!.map((v) => v.name!);

  it('fp32 defaults to the cache-reading graph (new_key_values outputs); present writes GroupQueryAttention in place; fp16 defaults to present', async () => {
    for (const [flags, kvOutput] of [
      [[], 'new_key_values.0.key'],
      [['--kv-outputs', 'present'], 'present.0.key'],
      [['--io-precision', 'fp16'], 'present.0.key'],
    ] as const) {
      const dir = join(scratch, `kv-${flags.join('-') || 'default'}`);
      await exportCommand().parseAsync(['--num-hidden-layers', '1', ...flags, '--out', dir, '--quiet'], { from: 'user' });
      expect(outputNames(dir)).toContain(kvOutput);
      expect(readFileSync(join(dir, 'model.onnx')).includes('GroupQueryAttention')).toBe(kvOutput.startsWith('present'));
    }
  });
});

describe('qwen3-serve export --checkpoint', () => {
  it('exports a Hugging Face safetensors checkpoint to the same weights as the source it was saved from', async () => {
    const shape = { ...PRESETS.tiny, numHiddenLayers: 1 };
    const checkpoint = join(scratch, 'checkpoint');
    writeSafetensorsCheckpoint(createRandomWeightSource(shape, 9), checkpoint, { dtype: 'F32' });

    const fromCheckpoint = join(scratch, 'from-checkpoint');
    const { stdout } = await cli(['export', '--checkpoint', checkpoint, '--bits', '8', '--out', fromCheckpoint, '--quiet']);
    expect(stdout).toMatch(/^wrote .*from-checkpoint in [\d.]+ s: graphs [\d.]+ MB/);
    expect(readdirSync(fromCheckpoint).sort()).toEqual(['config.json', 'genai_config.json', 'generation_config.json', 'model.onnx', 'tokenizer.json', 'tokenizer_config.json']);

    const direct = join(scratch, 'direct');
    exportQwen3Model(createRandomWeightSource(shape, 9), direct, { format: { bits: 8, blockSize: 32 }, quiet: true });
    const initializers = (dir: string) => {
      const graph = decodeModel(readFileSync(join(dir, 'model.onnx'))).graph!;
      return new Map(graph.initializer!.map((t) => [t.name!, Buffer.from(t.rawData!).toString('base64')]));
    };
    expect(initializers(fromCheckpoint)).toEqual(initializers(direct));
    expect(JSON.parse(readFileSync(join(fromCheckpoint, 'genai_config.json'), 'utf8')).model.decoder.num_hidden_layers).toBe(1);
  });
});

describe('qwen3-serve export --format gguf', () => {
  it('writes one GGUF file of the chosen type and says what it wrote', async () => {
    const path = join(scratch, 'tiny-q8_0.gguf');
    const { stdout } = await cli(['export', '--format', 'gguf', '--gguf-type', 'q8_0', '--num-hidden-layers', '1', '--seed', '2', '--out', path, '--quiet']);
    expect(stdout).toMatch(/^wrote .*tiny-q8_0\.gguf in [\d.]+ s: GGUF q8_0, [\d.]+ MB, 13 tensors/);
    const info = await readGgufFileInfo(path, { logWarnings: false, ignoreKeys: ['tokenizer.ggml.tokens', 'tokenizer.ggml.merges', 'tokenizer.ggml.token_type'] });
    expect(info.metadata.general).toMatchObject({ architecture: 'qwen3', name: 'qwen3 tiny random seed 2', file_type: 7 });
    expect(info.architectureMetadata.block_count).toBe(1);
  });
});
