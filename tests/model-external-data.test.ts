import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { exportQwen3Model } from '../src/convert/export/export-model.js';
import { ExternalDataStore } from '../src/convert/onnx/initializer-store.js';
import { decodeModel, onnx } from '../src/convert/onnx/proto-factory.js';
import { DEFAULT_EXTERNAL_DATA_THRESHOLD, estimateWeightBytes } from '../src/convert/onnx/write-onnx-model.js';
import { PRESETS } from '../src/convert/shape.js';
import { emptyPast, runDecoder, TINY_MODEL_FORMATS, tinyModelDir, tinyModelWeights } from './helpers/models.js';

const tiny = PRESETS.tiny;
const scratch = mkdtempSync(join(tmpdir(), 'qwen3-external-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('external data', () => {
  // The tiny int4 model forced over the threshold: the same weights as the inline one from global setup.
  const dir = join(scratch, 'tiny-int4-external');
  const source = tinyModelWeights();
  const result = exportQwen3Model(source, dir, { format: TINY_MODEL_FORMATS.int4, quiet: true, externalDataThresholdBytes: 0, metadata: { weights: 'random seed 1' } });
  source.close();

  it('moves the weights to model.onnx.data and keeps model.onnx small', () => {
    expect(result.files).toContain('model.onnx.data');
    const inlineSize = statSync(join(tinyModelDir('int4'), 'model.onnx')).size;
    expect(statSync(join(dir, 'model.onnx')).size).toBeLessThan(64 * 1024);
    expect(result.dataBytes).toBe(statSync(join(dir, 'model.onnx.data')).size);
    expect(result.dataBytes).toBeGreaterThan(inlineSize * 0.95);
  });

  it('records aligned, non-overlapping ranges inside the data file for every large tensor', () => {
    const graph = decodeModel(readFileSync(join(dir, 'model.onnx'))).graph!;
    const external = graph.initializer!.filter((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL);
    expect(external.length).toBeGreaterThan(7 * tiny.numHiddenLayers);
    const ranges = external
      .map((t) => {
        const entry = Object.fromEntries(t.externalData!.map((e) => [e.key, e.value]));
        expect(entry.location).toBe('model.onnx.data');
        return { offset: Number(entry.offset), length: Number(entry.length) };
      })
      .sort((a, b) => a.offset - b.offset);
    let end = 0;
    for (const range of ranges) {
      expect(range.offset % ExternalDataStore.ALIGNMENT).toBe(0);
      expect(range.offset).toBeGreaterThanOrEqual(end);
      end = range.offset + range.length;
    }
    expect(end).toBe(result.dataBytes);
    // Small tensors (norm weights, shape constants) stay inline.
    const inline = graph.initializer!.filter((t) => t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL);
    for (const t of inline) expect(t.rawData!.length).toBeLessThan(1024);
  });

  it('loads in onnxruntime and computes exactly what the inline model does', async () => {
    const prompt = [151644, 872, 198, 9707];
    const mask = [prompt.map(() => 1)];
    const results = [];
    for (const modelDir of [dir, tinyModelDir('int4')]) {
      const session = await ort.InferenceSession.create(join(modelDir, 'model.onnx'));
      results.push((await runDecoder(session, tiny, [prompt], mask, emptyPast(tiny, 1))).logits);
      await session.release();
    }
    expect(results[0]).toEqual(results[1]);
  });

  it('estimates the weight bytes before writing them, which decides inline or external', () => {
    expect(estimateWeightBytes(tiny, TINY_MODEL_FORMATS.int4)).toBeGreaterThan(result.dataBytes * 0.97);
    expect(estimateWeightBytes(tiny, TINY_MODEL_FORMATS.int4)).toBeLessThan(result.dataBytes * 1.03);
    // The real shape goes external in every format; the tiny one stays inline by default.
    const qwen3_4b = PRESETS['qwen3-4b'];
    const int4 = estimateWeightBytes(qwen3_4b, { bits: 4, blockSize: 128 });
    expect(int4).toBeGreaterThan(2.0e9);
    expect(int4).toBeLessThan(2.6e9);
    expect(estimateWeightBytes(tiny, TINY_MODEL_FORMATS.fp32)).toBeLessThan(DEFAULT_EXTERNAL_DATA_THRESHOLD);
  });
});
