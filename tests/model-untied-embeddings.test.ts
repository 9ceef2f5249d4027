import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { exportQwen3Model } from '../src/convert/export/export-model.js';
import { decodeModel } from '../src/convert/onnx/proto-factory.js';
import { ReferenceModel } from './reference/reference-model.js';
import { PRESETS, type Qwen3Shape } from '../src/convert/shape.js';
import { createRandomWeightSource } from '../src/convert/weights/random-source.js';
import { emptyPast, maxAbsDiff, runDecoder } from './helpers/models.js';

// Qwen3-8B and larger keep a separate lm_head.weight; the writer must use it, not the embedding.
const untied: Qwen3Shape = { ...PRESETS.tiny, numHiddenLayers: 1, tieWordEmbeddings: false };
const PROMPT = [151644, 872, 198, 9707, 11, 1246];
const scratch = mkdtempSync(join(tmpdir(), 'qwen3-untied-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function exportAndRun(bits: 4 | 32): Promise<{ dir: string; logits: Float32Array }> {
  const dir = join(scratch, `untied-${bits}`);
  exportQwen3Model(createRandomWeightSource(untied, 5), dir, { format: { bits, blockSize: 32 }, quiet: true });
  const session = await ort.InferenceSession.create(join(dir, 'model.onnx'));
  const { logits } = await runDecoder(session, untied, [PROMPT], [PROMPT.map(() => 1)], emptyPast(untied, 1));
  await session.release();
  return { dir, logits };
}

describe('untied embeddings', () => {
  it('fp32: gathers from model.embed_tokens.weight and projects with lm_head.weight, matching the reference pass', async () => {
    const { dir, logits } = await exportAndRun(32);
    const reference = ReferenceModel.load(createRandomWeightSource(untied, 5)).newSequence().forward(PROMPT, 'all');
    expect(maxAbsDiff(logits, reference)).toBeLessThan(1e-4);
    const graph = decodeModel(readFileSync(join(dir, 'model.onnx'))).graph!;
    const vocabTables = graph.initializer!.filter((t) => t.dims!.map(Number).includes(untied.vocabSize));
    expect(vocabTables.map((t) => t.name).sort()).toEqual(['lm_head.MatMul.weight', 'model.embed_tokens.weight']);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).tie_word_embeddings).toBe(false);
  });

  it('int4: stores a quantized embedding table of its own beside the LM head', async () => {
    const { dir, logits } = await exportAndRun(4);
    const graph = decodeModel(readFileSync(join(dir, 'model.onnx'))).graph!;
    const gather = graph.node!.find((n) => n.opType === 'GatherBlockQuantized')!;
    const lmHead = graph.node!.find((n) => n.output![0] === 'logits')!;
    expect(lmHead.opType).toBe('MatMulNBits');
    expect(gather.input![2]).not.toBe(lmHead.input![2]);
    const fp32 = (await exportAndRun(32)).logits;
    // int4 noise (~8% per weight) moves logits, but they stay strongly correlated with fp32's.
    let dot = 0;
    let normA = 0;
    let normB = 0;
    for (let i = 0; i < fp32.length; i++) {
      dot += fp32[i] * logits[i];
      normA += fp32[i] ** 2;
      normB += logits[i] ** 2;
    }
    expect(dot / Math.sqrt(normA * normB)).toBeGreaterThan(0.9);
  });
});
