import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModelManifest } from '../src/model/model-manifest.js';
import { halfToFloat } from '../src/model/runner/fp16.js';
import { OnnxRunner } from '../src/model/runner/onnx-runner.js';
import { describeSession } from '../src/model/runner/session-io.js';
import { BUILDER_FIXTURE_DIR } from './helpers/fixture.js';

// The builder fixture exercises the paths our own exports do not: int32 ids, fp16 KV and logits.
const manifest = readModelManifest(BUILDER_FIXTURE_DIR);
const MAX_LEN = 48;

/**
 * Logits of the last position after feeding `tokens` through a plain session in the textbook way:
 * one prefill, the cache grown by onnxruntime's own present outputs (no shared buffers, no pool).
 */
async function plainLastLogits(session: ort.InferenceSession, tokens: number[]): Promise<Float32Array> {
  const io = describeSession(session);
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int32', Int32Array.from(tokens), [1, tokens.length]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(tokens.length).fill(1n), [1, tokens.length]),
  };
  for (let l = 0; l < io.numLayers; l++) {
    for (const name of [io.pastKey(l), io.pastValue(l)]) {
      feeds[name] = new ort.Tensor('float16', new Uint16Array(0), [1, io.kvHeads, 0, io.headDim]);
    }
  }
  const out = await session.run(feeds);
  const data = out.logits.data as Uint16Array;
  const vocab = io.vocabSize;
  return halfToFloat(data.subarray((tokens.length - 1) * vocab, tokens.length * vocab), new Float32Array(vocab));
}

function row(logits: Float32Array, r: number, vocab: number): Float32Array {
  return logits.subarray(r * vocab, (r + 1) * vocab);
}

describe('OnnxRunner on the onnxruntime-genai builder fixture', () => {
  let runner: OnnxRunner;
  let plain: ort.InferenceSession;
  const vocab = 1000;
  const seqA = [5, 17, 99, 3, 42, 7, 8, 100, 11, 12, 13, 14];
  const seqB = [9, 8, 7, 6, 5, 4, 3];

  beforeAll(async () => {
    runner = await OnnxRunner.open({ onnxPath: manifest.onnxPath, device: 'cpu', maxSeqs: 4, maxLen: MAX_LEN });
    plain = await ort.InferenceSession.create(manifest.onnxPath);
  });
  afterAll(async () => {
    await runner?.close();
    await plain?.release();
  });

  it('reads the manifest and trusts the graph over genai_config.json', () => {
    expect(manifest.contextLength).toBe(128);
    expect(manifest.eosTokenIds).toEqual([2]);
    expect(manifest.hasTokenizer).toBe(false);
    const io = describeSession(plain);
    // genai_config.json names a position_ids input; the graph has none, so none is fed.
    expect(io).toMatchObject({
      inputIdsType: 'int32',
      hasPositionIds: false,
      numLayers: 2,
      kvHeads: 2,
      headDim: 16,
      kvType: 'float16',
      logitsType: 'float16',
      vocabSize: 1000,
    });
    expect(runner.info).toMatchObject({ maxSeqs: 4, maxLen: MAX_LEN, kvBytesPerToken: 2 * 2 * 2 * 16 * 2 });
  });

  it('prefill then in-place decode steps match a plain session run of the whole sequence', async () => {
    await runner.forward({ firstRow: 0, tokens: [seqA.slice(0, 6)], pastLengths: [0] });
    let logits: Float32Array = new Float32Array();
    for (let i = 6; i < seqA.length; i++) {
      logits = await runner.forward({ firstRow: 0, tokens: [[seqA[i]]], pastLengths: [i] });
    }
    const expected = await plainLastLogits(plain, seqA);
    expect(Array.from(logits)).toEqual(Array.from(expected));
  });

  it('a prefill chunked across steps equals one prefill', async () => {
    const whole = await runner.forward({ firstRow: 1, tokens: [seqA.slice(0, 10)], pastLengths: [0] });
    await runner.forward({ firstRow: 2, tokens: [seqA.slice(0, 4)], pastLengths: [0] });
    await runner.forward({ firstRow: 2, tokens: [seqA.slice(4, 7)], pastLengths: [4] });
    const chunked = await runner.forward({ firstRow: 2, tokens: [seqA.slice(7, 10)], pastLengths: [7] });
    // Chunk boundaries change fp16 accumulation order slightly.
    for (let i = 0; i < vocab; i++) expect(chunked[i]).toBeCloseTo(whole[i], 3);
  });

  it('a batched decode of rows with different lengths equals each row alone', async () => {
    await runner.forward({ firstRow: 0, tokens: [seqA.slice(0, 9)], pastLengths: [0] });
    await runner.forward({ firstRow: 1, tokens: [seqB.slice(0, 4)], pastLengths: [0] });
    const batched = await runner.forward({ firstRow: 0, tokens: [[seqA[9]], [seqB[4]]], pastLengths: [9, 4] });
    const aloneA = await plainLastLogits(plain, seqA.slice(0, 10));
    const aloneB = await plainLastLogits(plain, seqB.slice(0, 5));
    expect(Array.from(row(batched, 0, vocab))).toEqual(Array.from(aloneA));
    expect(Array.from(row(batched, 1, vocab))).toEqual(Array.from(aloneB));
  });

  it('copyRow and swapRows move a cache so decoding continues from the new row', async () => {
    await runner.forward({ firstRow: 3, tokens: [seqB.slice(0, 5)], pastLengths: [0] });
    runner.copyRow(3, 0, 5);
    const moved = await runner.forward({ firstRow: 0, tokens: [[seqB[5]]], pastLengths: [5] });
    expect(Array.from(moved)).toEqual(Array.from(await plainLastLogits(plain, seqB.slice(0, 6))));

    await runner.forward({ firstRow: 1, tokens: [seqA.slice(0, 8)], pastLengths: [0] });
    runner.swapRows(0, 1, 8);
    const both = await runner.forward({ firstRow: 0, tokens: [[seqA[8]], [seqB[6]]], pastLengths: [8, 6] });
    expect(Array.from(row(both, 0, vocab))).toEqual(Array.from(await plainLastLogits(plain, seqA.slice(0, 9))));
    expect(Array.from(row(both, 1, vocab))).toEqual(Array.from(await plainLastLogits(plain, seqB)));
  });

  it('rejects steps that break the pool or GroupQueryAttention rules', async () => {
    await expect(runner.forward({ firstRow: 3, tokens: [[1], [2]], pastLengths: [0, 0] })).rejects.toThrow(/exceed the pool/);
    await expect(runner.forward({ firstRow: 0, tokens: [[1, 2], [3, 4]], pastLengths: [3, 0] })).rejects.toThrow(/one row at a time/);
    await expect(runner.forward({ firstRow: 0, tokens: [[1], [2, 3]], pastLengths: [0, 0] })).rejects.toThrow(/same, non-zero/);
    await expect(runner.forward({ firstRow: 0, tokens: [[1]], pastLengths: [MAX_LEN] })).rejects.toThrow(/rows hold 48/);
  });
});
