import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { blockCount, dequantizeBlockwise, quantizeBlockwise, type QuantBits } from '../src/convert/onnx/block-quantizer.js';
import { bytesOf } from '../src/convert/onnx/initializer-store.js';
import { attribute, DataType, encodeModel, inlineTensor, valueInfo } from '../src/convert/onnx/proto-factory.js';
import { createRandomWeightSource } from '../src/convert/weights/random-source.js';
import { PRESETS } from '../src/convert/shape.js';

/** A [n, k] weight drawn like the model's projections (the random source's q_proj, cut to size). */
function randomWeight(n: number, k: number): Float32Array {
  const tensor = createRandomWeightSource({ ...PRESETS.tiny, hiddenSize: k, numAttentionHeads: 1, headDim: n }, 11).get('model.layers.0.self_attn.q_proj.weight');
  return tensor.data;
}

/** x [m, k] @ w^T for w [n, k], in doubles. */
function matmulTransposed(x: Float32Array, w: Float32Array, m: number, n: number, k: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < n; c++) {
      let acc = 0;
      for (let i = 0; i < k; i++) acc += x[r * k + i] * w[c * k + i];
      out[r * n + c] = acc;
    }
  }
  return out;
}

/** A one-node MatMulNBits model over given packed weights, plus a GatherBlockQuantized of the same bytes. */
async function quantizedOpsSession(packed: Uint8Array, scales: Float32Array, n: number, k: number, bits: QuantBits, blockSize: number, accuracyLevel: number) {
  const kBlocks = blockCount(k, blockSize);
  const rowBytes = (kBlocks * blockSize * bits) / 8;
  const model = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
    graph: {
      name: 'quantized-ops',
      node: [
        { opType: 'MatMulNBits', domain: 'com.microsoft', name: 'matmul', input: ['x', 'B', 'scales'], output: ['y'],
          attribute: [attribute('K', k), attribute('N', n), attribute('bits', bits), attribute('block_size', blockSize), attribute('accuracy_level', accuracyLevel)] },
        { opType: 'Reshape', name: 'rows', input: ['B', 'rows_shape'], output: ['B_rows'] },
        { opType: 'GatherBlockQuantized', domain: 'com.microsoft', name: 'gather', input: ['B_rows', 'ids', 'scales'], output: ['rows'],
          attribute: [attribute('bits', bits), attribute('block_size', blockSize), attribute('gather_axis', 0), attribute('quantize_axis', 1)] },
      ],
      initializer: [
        inlineTensor('B', DataType.UINT8, [n, kBlocks, (blockSize * bits) / 8], packed),
        inlineTensor('scales', DataType.FLOAT, [n, kBlocks], bytesOf(scales)),
        inlineTensor('rows_shape', DataType.INT64, [2], bytesOf(BigInt64Array.from([BigInt(n), BigInt(rowBytes)]))),
      ],
      input: [valueInfo('x', DataType.FLOAT, ['m', k]), valueInfo('ids', DataType.INT64, ['count'])],
      output: [valueInfo('y', DataType.FLOAT, ['m', n]), valueInfo('rows', DataType.FLOAT, ['count', kBlocks * blockSize])],
    },
  };
  return ort.InferenceSession.create(encodeModel(model));
}

const CASES = [
  { bits: 4, blockSize: 32, n: 48, k: 128 },
  { bits: 4, blockSize: 128, n: 40, k: 256 },
  { bits: 8, blockSize: 32, n: 48, k: 128 },
  { bits: 8, blockSize: 128, n: 40, k: 256 },
] as const;

describe.each(CASES)('block quantization, $bits bits, block $blockSize', ({ bits, blockSize, n, k }) => {
  const weight = randomWeight(n, k);
  const quantized = quantizeBlockwise(weight, n, k, bits, blockSize);
  const dequantized = dequantizeBlockwise(quantized);

  it('dequantizes to within half a step of every weight (a step at the clipped top code), each block extreme exactly', () => {
    const kBlocks = blockCount(k, blockSize);
    let squaredError = 0;
    let squaredWeight = 0;
    for (let row = 0; row < n; row++) {
      for (let block = 0; block < kBlocks; block++) {
        const step = Math.abs(quantized.scales[row * kBlocks + block]);
        let extreme = row * k + block * blockSize;
        for (let col = block * blockSize; col < (block + 1) * blockSize; col++) {
          const i = row * k + col;
          // The extreme maps to code 0; the opposite side ends at code 2^bits - 1, one step short of
          // -extreme, so values beyond it are clipped by up to a full step.
          const scale = quantized.scales[row * kBlocks + block];
          const code = Math.round(dequantized[i] / scale) + 2 ** (bits - 1);
          const clipped = code === 2 ** bits - 1;
          expect(Math.abs(dequantized[i] - weight[i])).toBeLessThanOrEqual(step * (clipped ? 1.0001 : 0.5001));
          if (Math.abs(weight[i]) > Math.abs(weight[extreme])) extreme = i;
          squaredError += (dequantized[i] - weight[i]) ** 2;
          squaredWeight += weight[i] ** 2;
        }
        expect(dequantized[extreme]).toBeCloseTo(weight[extreme], 6);
      }
    }
    // Uniform rounding error on a grid of step maxAbs / 2^(bits-1): ~8% (int4) or ~0.5% (int8) of the weights' RMS.
    const relative = Math.sqrt(squaredError / squaredWeight);
    expect(relative).toBeLessThan(bits === 4 ? 0.1 : 0.006);
    expect(relative).toBeGreaterThan(bits === 4 ? 0.04 : 0.002);
  });

  it('is read by onnxruntime exactly as dequantized: MatMulNBits gives x @ dequant(W)^T, GatherBlockQuantized its rows', async () => {
    const m = 3;
    const x = randomWeight(m, k);
    const expected = matmulTransposed(x, dequantized, m, n, k);
    const exact = await quantizedOpsSession(quantized.packed, quantized.scales, n, k, bits, blockSize, 0);
    const ids = [n - 1, 0, 7];
    const out = await exact.run({ x: new ort.Tensor('float32', x, [m, k]), ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [ids.length]) });
    const y = out.y.data as Float32Array;
    for (let i = 0; i < y.length; i++) expect(y[i]).toBeCloseTo(expected[i], 4);
    const rows = out.rows.data as Float32Array;
    for (const [r, id] of ids.entries()) {
      expect(rows.subarray(r * k, (r + 1) * k)).toEqual(dequantized.subarray(id * k, (id + 1) * k));
    }
    await exact.release();

    // accuracy_level 4 (what the exported models use) quantizes x to int8 per block: close, not exact.
    const fast = await quantizedOpsSession(quantized.packed, quantized.scales, n, k, bits, blockSize, 4);
    const yFast = (await fast.run({ x: new ort.Tensor('float32', x, [m, k]), ids: new ort.Tensor('int64', BigInt64Array.of(0n), [1]) })).y.data as Float32Array;
    const rms = Math.sqrt(expected.reduce((a, v) => a + v * v, 0) / expected.length);
    for (let i = 0; i < yFast.length; i++) expect(Math.abs(yFast[i] - expected[i])).toBeLessThan(0.02 * rms);
    await fast.release();
  });
});

describe('quantizeBlockwise edge cases', () => {
  it('pads a partial last block with zeros', () => {
    const k = 40; // one full block of 32 and 8 values of a second
    const weight = Float32Array.from({ length: 2 * k }, (_, i) => Math.sin(i + 1));
    const q = quantizeBlockwise(weight, 2, k, 4, 32);
    expect(q.packed.length).toBe(2 * 2 * 16);
    const back = dequantizeBlockwise(q);
    for (let i = 0; i < weight.length; i++) expect(Math.abs(back[i] - weight[i])).toBeLessThanOrEqual(Math.abs(q.scales[Math.floor(i / k) * 2 + Math.floor((i % k) / 32)]) * 1.0001);
    // The padding codes are the zero point (8): the second block's bytes past its 8 values are 0x88.
    expect([...q.packed.subarray(16 + 4, 32)]).toEqual(Array(12).fill(0x88));
  });

  it('encodes an all-zero block as zero with a zero scale', () => {
    const q = quantizeBlockwise(new Float32Array(32), 1, 32, 8, 32);
    expect(q.scales[0]).toBe(0);
    expect([...dequantizeBlockwise(q)]).toEqual(Array(32).fill(0));
  });

  it('rejects block sizes the ops do not support', () => {
    expect(() => quantizeBlockwise(new Float32Array(48), 1, 48, 4, 48)).toThrow(/power of two/);
    expect(() => quantizeBlockwise(new Float32Array(8), 1, 8, 4, 8)).toThrow(/power of two/);
  });
});
