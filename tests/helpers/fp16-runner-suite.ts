import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ModelManifest, readModelManifest } from '../../src/model/model-manifest.js';
import { halfToFloat } from '../../src/model/runner/fp16.js';
import { OnnxRunner } from '../../src/model/runner/onnx-runner.js';
import { describeSession } from '../../src/model/runner/session-io.js';
import { maxAbsDiff } from './models.js';

/** What a model in the model builder's fp16 layout must report about itself. */
export interface Fp16ModelFacts {
  contextLength: number;
  eosTokenIds: number[];
  hasTokenizer: boolean;
  numLayers: number;
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  /**
   * How far the runner's logits may stray from a plain session's: 0 demands identical bits. The
   * builder fixture computes in fp16 throughout and repeats bit for bit; this project's fp16
   * export computes in fp32 between fp16 casts, and a prefill of M rows vs one of M + 1 can round
   * its last fp32 bits differently, which shows as one fp16 step of a logit now and then.
   */
  logitTolerance: number;
}

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
    for (const name of io.pastNames(l)) {
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

function expectSameLogits(actual: Float32Array, expected: Float32Array, tolerance: number): void {
  if (tolerance === 0) expect(Array.from(actual)).toEqual(Array.from(expected));
  else expect(maxAbsDiff(actual, expected)).toBeLessThanOrEqual(tolerance);
}

/**
 * The runner's checks on a model in the builder's fp16 layout (int32 ids, fp16 KV and logits, a
 * genai_config.json that names a position_ids input the graph lacks): the paths the default fp32
 * exports do not take. Run on the builder's own fixture and on this project's fp16 export, so a
 * clone without the fixture still covers them. `dir` must hold the model once beforeAll hooks run.
 */
export function describeRunnerOnFp16Model(title: string, dir: string, facts: Fp16ModelFacts, options: { skip?: boolean } = {}): void {
  describe.skipIf(options.skip ?? false)(title, () => {
    let manifest: ModelManifest;
    let runner: OnnxRunner;
    let plain: ort.InferenceSession;
    const vocab = facts.vocabSize;
    const seqA = [5, 17, 99, 3, 42, 7, 8, 100, 11, 12, 13, 14];
    const seqB = [9, 8, 7, 6, 5, 4, 3];

    beforeAll(async () => {
      manifest = readModelManifest(dir);
      runner = await OnnxRunner.open({ onnxPath: manifest.onnxPath, device: 'cpu', maxSeqs: 4, maxLen: MAX_LEN });
      plain = await ort.InferenceSession.create(manifest.onnxPath);
    });
    afterAll(async () => {
      await runner?.close();
      await plain?.release();
    });

    it('reads the manifest and trusts the graph over genai_config.json', () => {
      expect(manifest.contextLength).toBe(facts.contextLength);
      expect(manifest.eosTokenIds).toEqual(facts.eosTokenIds);
      expect(manifest.hasTokenizer).toBe(facts.hasTokenizer);
      const genai = JSON.parse(readFileSync(join(dir, 'genai_config.json'), 'utf8'));
      expect(genai.model.decoder.inputs.position_ids).toBe('position_ids');
      const io = describeSession(plain);
      // genai_config.json names a position_ids input; the graph has none, so none is fed.
      expect(io).toMatchObject({
        inputIdsType: 'int32',
        hasPositionIds: false,
        numLayers: facts.numLayers,
        kvHeads: facts.kvHeads,
        headDim: facts.headDim,
        kvType: 'float16',
        logitsType: 'float16',
        vocabSize: facts.vocabSize,
      });
      // Keys and values, 2 bytes each.
      const kvBytesPerToken = 2 * facts.numLayers * facts.kvHeads * facts.headDim * 2;
      expect(runner.info).toMatchObject({ maxSeqs: 4, maxLen: MAX_LEN, kvBytesPerToken });
    });

    it('prefill then in-place decode steps match a plain session run of the whole sequence', async () => {
      await runner.forward({ firstRow: 0, tokens: [seqA.slice(0, 6)], pastLengths: [0] });
      let logits: Float32Array = new Float32Array();
      for (let i = 6; i < seqA.length; i++) {
        logits = await runner.forward({ firstRow: 0, tokens: [[seqA[i]]], pastLengths: [i] });
      }
      expectSameLogits(logits, await plainLastLogits(plain, seqA), facts.logitTolerance);
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
      expectSameLogits(row(batched, 0, vocab), aloneA, facts.logitTolerance);
      expectSameLogits(row(batched, 1, vocab), aloneB, facts.logitTolerance);
    });

    it('copyRow and swapRows move a cache so decoding continues from the new row', async () => {
      await runner.forward({ firstRow: 3, tokens: [seqB.slice(0, 5)], pastLengths: [0] });
      runner.copyRow(3, 0, 5);
      const moved = await runner.forward({ firstRow: 0, tokens: [[seqB[5]]], pastLengths: [5] });
      expectSameLogits(moved, await plainLastLogits(plain, seqB.slice(0, 6)), facts.logitTolerance);

      await runner.forward({ firstRow: 1, tokens: [seqA.slice(0, 8)], pastLengths: [0] });
      runner.swapRows(0, 1, 8);
      const both = await runner.forward({ firstRow: 0, tokens: [[seqA[8]], [seqB[6]]], pastLengths: [8, 6] });
      expectSameLogits(row(both, 0, vocab), await plainLastLogits(plain, seqA.slice(0, 9)), facts.logitTolerance);
      expectSameLogits(row(both, 1, vocab), await plainLastLogits(plain, seqB), facts.logitTolerance);
    });

    it('rejects steps that break the pool or GroupQueryAttention rules', async () => {
      await expect(runner.forward({ firstRow: 3, tokens: [[1], [2]], pastLengths: [0, 0] })).rejects.toThrow(/exceed the pool/);
      await expect(runner.forward({ firstRow: 0, tokens: [[1, 2], [3, 4]], pastLengths: [3, 0] })).rejects.toThrow(/one row at a time/);
      await expect(runner.forward({ firstRow: 0, tokens: [[1], [2, 3]], pastLengths: [0, 0] })).rejects.toThrow(/same, non-zero/);
      await expect(runner.forward({ firstRow: 0, tokens: [[1]], pastLengths: [MAX_LEN] })).rejects.toThrow(/rows hold 48/);
    });
  });
}
