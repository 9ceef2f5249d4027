import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../src/convert/onnx/graph-builder.js';
import { InlineInitializerStore } from '../src/convert/onnx/initializer-store.js';
import { DataType, encodeModel, valueInfo } from '../src/convert/onnx/proto-factory.js';
import { addRowInt8Projection, addRowQuantization, quantizePerColumn, WEIGHT_CODE_MAX } from '../src/convert/onnx/row-int8-projection.js';

const K = 256;
const N = 8;

/** A graph y = x @ W^T through the prefill graph's row-quantized integer projection. */
async function projectionSession(weight: Float32Array): Promise<ort.InferenceSession> {
  const g = new GraphBuilder(new InlineInitializerStore());
  const x = g.input(valueInfo('x', DataType.FLOAT, ['rows', K]));
  addRowInt8Projection(g, '/proj', addRowQuantization(g, '/proj/input_quantization', x), { dims: [N, K], data: weight }, 'y');
  g.output(valueInfo('y', DataType.FLOAT, ['rows', N]));
  return ort.InferenceSession.create(encodeModel(g.toModel('projection', {})), { intraOpNumThreads: 1 });
}

describe('row-quantized int8 projection', () => {
  it('quantizes each column to codes within ±63 with the scale that restores its largest value', () => {
    const weight = Float32Array.from({ length: N * K }, (_, i) => Math.sin(i * 0.77) * (1 + (i % N)));
    const { codes, scales } = quantizePerColumn(weight, N, K);
    for (let col = 0; col < N; col++) {
      let maxAbs = 0;
      for (let i = 0; i < K; i++) maxAbs = Math.max(maxAbs, Math.abs(weight[col * K + i]));
      expect(scales[col]).toBeCloseTo(maxAbs / WEIGHT_CODE_MAX, 6);
    }
    expect(Math.max(...Array.from(codes, Math.abs))).toBe(WEIGHT_CODE_MAX);
  });

  // The codes at the ends of both ranges: activation 255 or 1 (x at +max or -max of its row) times
  // weight ±63, every product alike. Where the u8s8 kernel adds pairs of products in int16 (AVX2
  // without VNNI), 8-bit weights (255 x 127 x 2) saturate and the sum comes out wrong; 7-bit ones
  // must not, on every CPU.
  it('multiplies the extreme codes exactly, so no CPU kernel saturates', async () => {
    const session = await projectionSession(new Float32Array(N * K).fill(1));
    for (const sign of [1, -1]) {
      const out = await session.run({ x: new ort.Tensor('float32', new Float32Array(2 * K).fill(sign), [2, K]) });
      for (const y of out.y.data as Float32Array) expect(y).toBeCloseTo(sign * K, 3);
    }
    await session.release();
  });

  it('gives each row the result it gets alone, whatever rows share the call', async () => {
    const weight = Float32Array.from({ length: N * K }, (_, i) => Math.cos(i * 1.3) * 0.05);
    const session = await projectionSession(weight);
    // Rows of very different magnitudes: a per-tensor scale would coarsen the small row's codes.
    const rows = [1, 1000, 0.001].map((scale, r) => Float32Array.from({ length: K }, (_, i) => Math.sin(i * 0.1 + r) * scale));
    const together = (await session.run({ x: new ort.Tensor('float32', Float32Array.from(rows.flatMap((row) => [...row])), [3, K]) })).y.data as Float32Array;
    for (const [r, row] of rows.entries()) {
      const alone = (await session.run({ x: new ort.Tensor('float32', row, [1, K]) })).y.data as Float32Array;
      expect(Array.from(together.subarray(r * N, (r + 1) * N))).toEqual(Array.from(alone));
      // And close to the fp32 product: 7-bit weights, 8-bit activations.
      for (let n = 0; n < N; n++) {
        let exact = 0;
        let magnitude = 0;
        for (let k = 0; k < K; k++) {
          exact += row[k] * weight[n * K + k];
          magnitude += Math.abs(row[k] * weight[n * K + k]);
        }
        expect(Math.abs(alone[n] - exact)).toBeLessThan(0.02 * magnitude);
      }
    }
    await session.release();
  });
});
