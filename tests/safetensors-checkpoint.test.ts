import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRESETS, type Qwen3Shape } from '../src/convert/shape.js';
import { createRandomWeightSource } from '../src/convert/weights/random-source.js';
import { decodeSafetensorsData, halfBitsToNumber } from '../src/convert/weights/safetensors-dtype.js';
import { openSafetensorsCheckpoint } from '../src/convert/weights/safetensors-source.js';
import { expectedWeightDims, layerWeightNames, type WeightSource } from '../src/convert/weights/weight-source.js';
import {
  encodeFloat32,
  encodedWeight,
  float32BitsToBf16Bits,
  float32BitsToHalfBits,
  hfConfigFromShape,
  writeSafetensorsCheckpoint,
  writeSafetensorsFile,
  type RawTensor,
} from './helpers/safetensors-writer.js';

/** The tiny preset with a 1000-token vocabulary, so whole checkpoints take milliseconds. */
const SMALL: Qwen3Shape = { ...PRESETS.tiny, vocabSize: 1000 };
const SEED = 7;

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'safetensors-test-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function freshDir(name: string): string {
  return join(root, name);
}

/** Bits of an fp32 value. */
function f32Bits(x: number): number {
  return new Uint32Array(Float32Array.of(x).buffer)[0];
}

function u16Bytes(...values: number[]): Uint8Array {
  return new Uint8Array(Uint16Array.from(values).buffer);
}

describe('dtype conversion against IEEE 754 bit patterns', () => {
  it('widens F16 exactly, including subnormals, infinities and NaN', () => {
    const decoded = decodeSafetensorsData(
      u16Bytes(0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001, 0x0400, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x2e66),
      'F16',
    );
    expect([...decoded.slice(0, 9)]).toEqual([1, -2, 0.333251953125, 65504, 2 ** -24, 2 ** -14, -0, Infinity, -Infinity]);
    expect(Number.isNaN(decoded[9])).toBe(true);
    expect(decoded[10]).toBe(Math.fround(0.0999755859375));
    expect(halfBitsToNumber(0x03ff)).toBe(1023 * 2 ** -24); // largest subnormal
  });

  it('widens BF16 exactly: bf16 is the top half of an fp32', () => {
    const decoded = decodeSafetensorsData(u16Bytes(0x3f80, 0xc000, 0x3dcd, 0x7f80, 0x0001, 0x8000), 'BF16');
    expect([...decoded]).toEqual([1, -2, 0.10009765625, Infinity, 2 ** -133, -0]);
  });

  it('narrows fp32 to F16 and BF16 rounding to nearest, ties to even', () => {
    expect(float32BitsToHalfBits(f32Bits(1))).toBe(0x3c00);
    expect(float32BitsToHalfBits(f32Bits(0.1))).toBe(0x2e66);
    expect(float32BitsToHalfBits(f32Bits(65504))).toBe(0x7bff);
    expect(float32BitsToHalfBits(f32Bits(65520))).toBe(0x7c00); // the tie above the max rounds to inf
    expect(float32BitsToHalfBits(f32Bits(1 + 2 ** -11))).toBe(0x3c00); // tie -> even mantissa
    expect(float32BitsToHalfBits(f32Bits(1 + 3 * 2 ** -11))).toBe(0x3c02); // tie -> even mantissa
    expect(float32BitsToHalfBits(f32Bits(2 ** -24))).toBe(0x0001);
    expect(float32BitsToHalfBits(f32Bits(2 ** -25))).toBe(0x0000); // half the smallest subnormal: tie -> 0
    expect(float32BitsToHalfBits(f32Bits(1.5 * 2 ** -24))).toBe(0x0002); // tie -> even
    expect(float32BitsToHalfBits(f32Bits(-2))).toBe(0xc000);
    expect(float32BitsToBf16Bits(f32Bits(0.1))).toBe(0x3dcd);
    expect(float32BitsToBf16Bits(f32Bits(1 + 2 ** -8))).toBe(0x3f80); // tie -> even
    expect(float32BitsToBf16Bits(f32Bits(1 + 3 * 2 ** -8))).toBe(0x3f82);
    expect(float32BitsToBf16Bits(f32Bits(-2))).toBe(0xc000);
  });
});

describe('reading a file laid out by hand from the safetensors spec', () => {
  it('finds each tensor by its data_offsets after the 8-byte length and JSON header', () => {
    // A Qwen3 shape whose every tensor has at most 4 values.
    const shape: Qwen3Shape = {
      ...SMALL,
      vocabSize: 2,
      hiddenSize: 2,
      intermediateSize: 2,
      numHiddenLayers: 1,
      numAttentionHeads: 1,
      numKeyValueHeads: 1,
      headDim: 2,
    };
    const dir = freshDir('by-hand');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(hfConfigFromShape(shape)));
    // The weights file assembled byte by byte: the embedding in F16 at offset 0, every other
    // tensor in F32 after it, 16 bytes apart.
    const names = [...expectedWeightDims(shape).keys()].filter((n) => n !== 'model.embed_tokens.weight');
    const header: Record<string, unknown> = {
      __metadata__: { format: 'pt' },
      'model.embed_tokens.weight': { dtype: 'F16', shape: [2, 2], data_offsets: [0, 8] },
    };
    const f32 = new Float32Array(names.length * 4);
    names.forEach((name, i) => {
      const count = expectedWeightDims(shape).get(name)!.reduce((a, b) => a * b, 1);
      header[name] = { dtype: 'F32', shape: expectedWeightDims(shape).get(name), data_offsets: [8 + 16 * i, 8 + 16 * i + 4 * count] };
      f32.fill(i + 0.5, 4 * i, 4 * i + count);
    });
    const json = Buffer.from(JSON.stringify(header));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    writeFileSync(
      join(dir, 'model.safetensors'),
      Buffer.concat([length, json, Buffer.from(u16Bytes(0x3c00, 0xc000, 0x3800, 0x0000)), Buffer.from(f32.buffer)]),
    );

    const source = openSafetensorsCheckpoint(dir);
    expect(source.get('model.embed_tokens.weight')).toEqual({ dims: [2, 2], data: Float32Array.of(1, -2, 0.5, 0) });
    const norm = source.get('model.norm.weight');
    expect(norm.dims).toEqual([2]);
    expect([...norm.data]).toEqual([names.indexOf('model.norm.weight') + 0.5, names.indexOf('model.norm.weight') + 0.5]);
    source.close();
    expect(() => source.get('model.norm.weight')).toThrow(/closed/);
  });
});

describe('checkpoints written from the random source read back', () => {
  const original = createRandomWeightSource(SMALL, SEED);
  const names = [...expectedWeightDims(SMALL).keys()];

  /** Every tensor of the checkpoint, checked elementwise against the source within `relativeError`. */
  function expectSameWeights(read: WeightSource, relativeError: number, absoluteError: number): void {
    expect(read.shape).toEqual(SMALL);
    for (const name of names) {
      const want = original.get(name);
      const got = read.get(name);
      expect(got.dims, name).toEqual(want.dims);
      if (relativeError === 0) {
        expect(Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength).equals(Buffer.from(want.data.buffer)), name).toBe(true);
        continue;
      }
      let outside = 0;
      for (let i = 0; i < want.data.length; i++) {
        const allowed = relativeError * Math.abs(want.data[i]) + absoluteError;
        if (!(Math.abs(got.data[i] - want.data[i]) <= allowed)) outside++;
      }
      expect(outside, name).toBe(0);
    }
  }

  it.each([1, 3])('F32 with %i shard(s) is bit-exact', (shards) => {
    const dir = freshDir(`f32-${shards}`);
    writeSafetensorsCheckpoint(original, dir, { dtype: 'F32', shards });
    const read = openSafetensorsCheckpoint(dir);
    expectSameWeights(read, 0, 0);
    read.close();
  });

  it.each([1, 4])('BF16 with %i shard(s) is within half a bf16 ulp (2^-8 relative)', (shards) => {
    const dir = freshDir(`bf16-${shards}`);
    writeSafetensorsCheckpoint(original, dir, { dtype: 'BF16', shards });
    const read = openSafetensorsCheckpoint(dir);
    // 8 significant bits: half an ulp is at most 2^-8 of the value.
    expectSameWeights(read, 2 ** -8, 0);
    read.close();
  });

  it.each([1, 2])('F16 with %i shard(s) is within half an f16 ulp (2^-11 relative, 2^-25 absolute)', (shards) => {
    const dir = freshDir(`f16-${shards}`);
    writeSafetensorsCheckpoint(original, dir, { dtype: 'F16', shards });
    const read = openSafetensorsCheckpoint(dir);
    // 11 significant bits for normals (half an ulp is at most 2^-11 of the value); subnormals are
    // spaced 2^-24 apart.
    expectSameWeights(read, 2 ** -11, 2 ** -25);
    read.close();
  });

  it('reads config.json into the shape, including an untied LM head and a list of eos ids', () => {
    const untied: Qwen3Shape = { ...SMALL, tieWordEmbeddings: false, ropeTheta: 5_000_000 };
    const dir = freshDir('untied');
    writeSafetensorsCheckpoint(createRandomWeightSource(untied, SEED), dir, { dtype: 'BF16', shards: 2 });
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, eos_token_id: [151645, 151643] }));
    const read = openSafetensorsCheckpoint(dir);
    expect(read.shape).toEqual(untied);
    expect(read.get('lm_head.weight').dims).toEqual([untied.vocabSize, untied.hiddenSize]);
    read.close();
  });
});

describe('bad checkpoints fail at open with the reason', () => {
  const source = createRandomWeightSource(SMALL, SEED);
  const allTensors = (): Map<string, RawTensor> =>
    new Map([...expectedWeightDims(SMALL)].map(([name, dims]) => [name, encodedWeight(source, name, dims, 'F32')]));

  /** A checkpoint folder with a valid config and the given tensors in model.safetensors. */
  function checkpointWith(name: string, tensors: Map<string, RawTensor>): string {
    const dir = freshDir(name);
    writeSafetensorsCheckpoint(source, dir);
    writeSafetensorsFile(join(dir, 'model.safetensors'), tensors);
    return dir;
  }

  const kProj = layerWeightNames(1).kProj;

  it('names a missing tensor', () => {
    const tensors = allTensors();
    tensors.delete(kProj);
    expect(() => openSafetensorsCheckpoint(checkpointWith('missing', tensors))).toThrow(
      `is missing tensor ${kProj}`,
    );
  });

  it('names a tensor with the wrong dims', () => {
    const tensors = allTensors();
    const wrong = [SMALL.numKeyValueHeads * SMALL.headDim + 1, SMALL.hiddenSize];
    tensors.set(kProj, { dtype: 'F32', dims: wrong, byteLength: wrong[0] * wrong[1] * 4, bytes: () => new Uint8Array(wrong[0] * wrong[1] * 4) });
    expect(() => openSafetensorsCheckpoint(checkpointWith('dims', tensors))).toThrow(
      `tensor ${kProj} has dims [65,128], config.json implies [64,128]`,
    );
  });

  it('names an unsupported dtype', () => {
    const tensors = allTensors();
    const dims = expectedWeightDims(SMALL).get(kProj)!;
    const bytes = encodeFloat32(source.get(kProj).data, 'F32');
    tensors.set(kProj, { dtype: 'F64', dims, byteLength: bytes.byteLength * 2, bytes: () => new Uint8Array(bytes.byteLength * 2) });
    expect(() => openSafetensorsCheckpoint(checkpointWith('dtype', tensors))).toThrow(
      `tensor ${kProj} has unsupported dtype F64 (supported: BF16, F16, F32)`,
    );
  });

  it('names a missing config.json, weights file or shard', () => {
    const noConfig = checkpointWith('no-config', allTensors());
    unlinkSync(join(noConfig, 'config.json'));
    expect(() => openSafetensorsCheckpoint(noConfig)).toThrow(`checkpoint ${noConfig} has no config.json`);

    const noWeights = checkpointWith('no-weights', allTensors());
    unlinkSync(join(noWeights, 'model.safetensors'));
    expect(() => openSafetensorsCheckpoint(noWeights)).toThrow('has neither model.safetensors nor model.safetensors.index.json');

    const sharded = freshDir('lost-shard');
    writeSafetensorsCheckpoint(source, sharded, { shards: 3 });
    unlinkSync(join(sharded, 'model-00002-of-00003.safetensors'));
    expect(() => openSafetensorsCheckpoint(sharded)).toThrow('shard model-00002-of-00003.safetensors is missing');

    expect(() => openSafetensorsCheckpoint(join(root, 'nowhere'))).toThrow('does not exist');
  });

  it('rejects configs of other architectures and unsupported features', () => {
    const dir = checkpointWith('qwen2', allTensors());
    const config = hfConfigFromShape(SMALL);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, model_type: 'qwen2' }));
    expect(() => openSafetensorsCheckpoint(dir)).toThrow('model_type must be "qwen3"');
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, rope_scaling: { rope_type: 'yarn', factor: 4 } }));
    expect(() => openSafetensorsCheckpoint(dir)).toThrow('rope_scaling type "yarn" is not supported');
    const { hidden_size: _dropped, ...withoutHidden } = config;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(withoutHidden));
    expect(() => openSafetensorsCheckpoint(dir)).toThrow(/hidden_size/);
  });

  it('rejects a file whose header is not safetensors', () => {
    const dir = checkpointWith('garbage', allTensors());
    writeFileSync(join(dir, 'model.safetensors'), Buffer.from('not a safetensors file at all'));
    expect(() => openSafetensorsCheckpoint(dir)).toThrow(/declares a \d+-byte header/);
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(5n);
    writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([length, Buffer.from('{oops')]));
    expect(() => openSafetensorsCheckpoint(dir)).toThrow('has a header that is not valid JSON');
  });
});
