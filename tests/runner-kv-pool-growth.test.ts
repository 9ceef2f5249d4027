import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvPool } from '../src/model/runner/kv-pool.js';
import { OnnxRunner } from '../src/model/runner/onnx-runner.js';
import { PRESETS } from '../src/convert/shape.js';
import { emptyPast, maxAbsDiff, runDecoder, tinyModelDir } from './helpers/models.js';

const shape = { numLayers: 2, kvHeads: 2, headDim: 4, kvType: 'float32', maxSeqs: 3, maxLen: 200 } as const;

/** A value no two (layer, kind, row, head, position, dim) share, never 0 (0 means unwritten). */
const mark = (layer: number, kind: number, row: number, head: number, position: number, dim: number) =>
  1 + dim + 10 * position + 10_000 * head + 100_000 * row + 1_000_000 * kind + 10_000_000 * layer;

/** The mark as the plane's element type holds it: int8 planes (an int8 cache's codes) keep it modulo a prime, still never 0. */
const fit = (value: number, type: ort.Tensor['type']) => (type === 'uint8' || type === 'int8' ? 1 + (value % 113) : value);

/**
 * A view tensor is [1, kvHeads, capacity, width], transposed [1, kvHeads, width, capacity] (dim 2 is
 * not the capacity), or in blocks of N positions [1, kvHeads, capacity / N, width, N].
 */
const isTransposed = (tensor: ort.Tensor, pool: KvPool) => tensor.dims[3] === pool.capacity && tensor.dims[2] !== pool.capacity;
const blockOf = (tensor: ort.Tensor) => (tensor.dims.length === 5 ? tensor.dims[4] : 0);
const widthOf = (tensor: ort.Tensor) => (blockOf(tensor) ? tensor.dims[3] : Math.min(tensor.dims[2], tensor.dims[3]));
function offset(pool: KvPool, tensor: ort.Tensor, head: number, position: number, dim: number): number {
  const width = widthOf(tensor);
  const block = blockOf(tensor);
  if (block) return head * pool.capacity * width + (Math.floor(position / block) * width + dim) * block + (position % block);
  return isTransposed(tensor, pool) ? (head * width + dim) * pool.capacity + position : (head * pool.capacity + position) * width + dim;
}

/** Writes the marks of positions [0, length) of `row` through the pool's current view, as GQA would. */
function writeRow(pool: KvPool, row: number, length: number): void {
  for (const [layer, tensors] of pool.view(row, 1).entries()) {
    tensors.forEach((tensor, kind) => {
      const data = tensor.data as Float32Array;
      for (let h = 0; h < pool.shape.kvHeads; h++) {
        for (let p = 0; p < length; p++) {
          for (let d = 0; d < widthOf(tensor); d++) data[offset(pool, tensor, h, p, d)] = fit(mark(layer, kind, row, h, p, d), tensor.type);
        }
      }
    });
  }
  pool.noteWritten(row, [length]);
}

/** The row's positions [0, length) read back through the current view, compared with the marks written for `asRow`. */
function rowMatches(pool: KvPool, row: number, length: number, asRow = row): boolean {
  for (const [layer, tensors] of pool.view(row, 1).entries()) {
    for (const [kind, tensor] of tensors.entries()) {
      const data = tensor.data as Float32Array;
      for (let h = 0; h < pool.shape.kvHeads; h++) {
        for (let p = 0; p < length; p++) {
          for (let d = 0; d < widthOf(tensor); d++) {
            if (data[offset(pool, tensor, h, p, d)] !== fit(mark(layer, kind, asRow, h, p, d), tensor.type)) return false;
          }
        }
      }
    }
  }
  return true;
}

describe('KvPool capacity growth', () => {
  it('starts at 64 positions, grows in steps of 64 by at least an eighth, stops at maxLen and refuses beyond it', () => {
    const pool = new KvPool(shape);
    expect(pool.capacity).toBe(64);
    expect(pool.view(0, 3)[0][0].dims).toEqual([3, 2, 64, 4]);
    pool.reserve(64);
    expect(pool.capacity).toBe(64);
    pool.reserve(65);
    expect(pool.capacity).toBe(128);
    pool.reserve(129);
    expect(pool.capacity).toBe(192);
    const big = new KvPool({ ...shape, maxLen: 4096 });
    big.reserve(1000);
    expect(big.capacity).toBe(1024);
    big.reserve(1025); // an eighth more than 1024 is 1152
    expect(big.capacity).toBe(1152);
    pool.reserve(193);
    expect(pool.capacity).toBe(200);
    expect(pool.view(1, 2)[1][1].dims).toEqual([2, 2, 200, 4]);
    expect(() => pool.reserve(201)).toThrow(RangeError);
    expect(new KvPool({ ...shape, maxLen: 16 }).capacity).toBe(16);
    expect(pool.reservedBytes).toBe(pool.bytesPerToken * 3 * 200);
  });

  it('narrows to the longest live row when a long row is released, keeping what the others hold', () => {
    const pool = new KvPool({ ...shape, maxLen: 1000 });
    pool.reserve(500);
    writeRow(pool, 0, 500);
    writeRow(pool, 1, 100);
    writeRow(pool, 2, 30);
    expect(pool.capacity).toBe(512);
    pool.releaseRow(2); // the longest live row is still 500: nothing changes
    expect(pool.capacity).toBe(512);
    pool.releaseRow(0);
    expect(pool.capacity).toBe(128);
    expect(rowMatches(pool, 1, 100)).toBe(true);
    // Within a quarter of the capacity the layout stays: no relayout for a few positions.
    writeRow(pool, 0, 128);
    pool.reserve(130);
    expect(pool.capacity).toBe(192);
    writeRow(pool, 2, 150);
    pool.releaseRow(0);
    expect(pool.capacity).toBe(192);
    expect(rowMatches(pool, 2, 150)).toBe(true);
    pool.releaseRow(2);
    pool.releaseRow(1);
    expect(pool.capacity).toBe(64);
  });

  it.each(['float32', 'int8'] as const)('carries every written position of every row (and plane, %s) into the wider layout and leaves unwritten rows zero', (kvType) => {
    const pool = new KvPool({ ...shape, kvType });
    expect(pool.view(0, 1)[0].map((tensor) => `${tensor.type} ${widthOf(tensor)}`)).toEqual(kvType === 'int8' ? ['int8 4', 'int8 4', 'float32 1', 'float32 1'] : ['float32 4', 'float32 4']);
    writeRow(pool, 0, 50);
    writeRow(pool, 2, 64);
    pool.reserve(100);
    expect(pool.capacity).toBe(128);
    expect(rowMatches(pool, 0, 50)).toBe(true);
    expect(rowMatches(pool, 2, 64)).toBe(true);
    expect(pool.view(1, 1).flat().every((tensor) => (tensor.data as Float32Array).every((v) => v === 0))).toBe(true);
    // Rows copied and swapped in the wider layout are carried through the next widening too.
    pool.copyRow(2, 1, 64);
    pool.swapRows(0, 2, 64);
    writeRow(pool, 0, 120);
    pool.reserve(150);
    expect(rowMatches(pool, 0, 120)).toBe(true);
    expect(rowMatches(pool, 1, 64, 2)).toBe(true);
    expect(rowMatches(pool, 2, 50, 0)).toBe(true);
  });
});

describe('KvPool with an int8 cache\'s keys in blocks', () => {
  const blocked = { ...shape, kvType: 'int8', keyBlock: 128, maxLen: 300 } as const;

  it('moves capacity in whole blocks up to maxLen rounded up to a block, and shapes the key view in blocks', () => {
    const pool = new KvPool(blocked);
    expect(pool.capacity).toBe(128);
    expect(pool.view(0, 3)[1].map((tensor) => tensor.dims)).toEqual([[3, 2, 1, 4, 128], [3, 2, 128, 4], [3, 2, 128, 1], [3, 2, 128, 1]]);
    pool.reserve(129);
    expect(pool.capacity).toBe(256);
    pool.reserve(300);
    expect(pool.capacity).toBe(384);
    expect(pool.view(0, 1)[0][0].dims).toEqual([1, 2, 3, 4, 128]);
    expect(() => pool.reserve(385)).toThrow(RangeError);
    expect(pool.reservedBytes).toBe(pool.bytesPerToken * 3 * 384);
  });

  it('carries rows through widening, copies, swaps and narrowing', () => {
    const pool = new KvPool(blocked);
    writeRow(pool, 0, 50);
    writeRow(pool, 2, 128);
    pool.reserve(129);
    expect(rowMatches(pool, 0, 50)).toBe(true);
    expect(rowMatches(pool, 2, 128)).toBe(true);
    expect(pool.view(1, 1).flat().every((tensor) => (tensor.data as Int8Array).every((v) => v === 0))).toBe(true);
    pool.copyRow(2, 1, 128);
    pool.swapRows(0, 2, 128);
    writeRow(pool, 0, 200);
    pool.reserve(300);
    expect(rowMatches(pool, 0, 200)).toBe(true);
    expect(rowMatches(pool, 1, 128, 2)).toBe(true);
    expect(rowMatches(pool, 2, 50, 0)).toBe(true);
    pool.releaseRow(0);
    expect(pool.capacity).toBe(128);
    expect(rowMatches(pool, 1, 128, 2)).toBe(true);
    expect(rowMatches(pool, 2, 50, 0)).toBe(true);
  });

  it('stores new positions that cross a block boundary where the view reads them', () => {
    const pool = new KvPool(blocked);
    pool.reserve(256);
    const { kvHeads } = blocked;
    const pastLengths = [120, 3];
    const steps = 20;
    // As a cache-reading graph returns them: keys [rows, kvHeads, headDim, S], the rest [rows, kvHeads, S, width].
    const planes = pool.view(0, 1)[0].map((tensor, kind) => {
      const width = widthOf(tensor);
      const data = kind === 0 || kind === 1 ? new Int8Array(2 * kvHeads * steps * width) : new Float32Array(2 * kvHeads * steps * width);
      for (let r = 0; r < 2; r++) {
        for (let h = 0; h < kvHeads; h++) {
          for (let s = 0; s < steps; s++) {
            for (let d = 0; d < width; d++) {
              const at = kind === 0 ? ((r * kvHeads + h) * width + d) * steps + s : ((r * kvHeads + h) * steps + s) * width + d;
              data[at] = fit(mark(1, kind, r, h, pastLengths[r] + s, d), tensor.type);
            }
          }
        }
      }
      return data;
    });
    pool.writeNewPositions(1, 0, pastLengths, planes);
    const views = pool.view(0, 2)[1];
    for (const [kind, tensor] of views.entries()) {
      const rowElements = tensor.data.length / 2;
      for (let r = 0; r < 2; r++) {
        for (let h = 0; h < kvHeads; h++) {
          for (let s = 0; s < steps; s++) {
            for (let d = 0; d < widthOf(tensor); d++) {
              const read = (tensor.data as Int8Array)[r * rowElements + offset(pool, tensor, h, pastLengths[r] + s, d)];
              expect(read).toBe(fit(mark(1, kind, r, h, pastLengths[r] + s, d), tensor.type));
            }
          }
        }
      }
    }
  });
});

describe('OnnxRunner over a growing KV pool (tiny fp32)', () => {
  const tiny = PRESETS.tiny;
  let session: ort.InferenceSession;
  beforeAll(async () => {
    session = await ort.InferenceSession.create(join(tinyModelDir('fp32'), 'model.onnx'));
  });
  afterAll(() => session.release());

  it('decodes two batched rows across four widenings with the logits of one plain prefill', async () => {
    const runner = await OnnxRunner.open({ onnxPath: join(tinyModelDir('fp32'), 'model.onnx'), device: 'cpu', maxSeqs: 2, maxLen: 300 });
    try {
      const sequences = [Array.from({ length: 40 }, (_, i) => 1000 + ((i * 37) % 5000)), Array.from({ length: 9 }, (_, i) => 7000 + i)];
      await runner.forward({ firstRow: 0, tokens: [sequences[0]], pastLengths: [0] });
      await runner.forward({ firstRow: 1, tokens: [sequences[1]], pastLengths: [0] });
      let logits: Float32Array = new Float32Array(0);
      // Row 0 goes from 40 to 280 positions: the pool widens 64 -> 128 -> 192 -> 256 -> 300 meanwhile.
      for (let step = 0; step < 240; step++) {
        const next = sequences.map((_, row) => 3000 + ((step * 13 + row * 101) % 4000));
        logits = await runner.forward({ firstRow: 0, tokens: next.map((t) => [t]), pastLengths: sequences.map((s) => s.length) });
        sequences.forEach((s, row) => s.push(next[row]));
      }
      for (const [row, tokens] of sequences.entries()) {
        const full = await runDecoder(session, tiny, [tokens], [tokens.map(() => 1)], emptyPast(tiny, 1));
        const last = full.logits.subarray((tokens.length - 1) * tiny.vocabSize, tokens.length * tiny.vocabSize);
        expect(maxAbsDiff(logits.subarray(row * tiny.vocabSize, (row + 1) * tiny.vocabSize), last), `row ${row}`).toBeLessThan(1e-4);
      }
    } finally {
      await runner.close();
    }
  });
});
