import * as ort from 'onnxruntime-node';
import type { Qwen3Shape } from '../src/convert/shape.js';
import { withNewPositions } from './helpers/models.js';

/**
 * One sequence run through an exported decoder with onnxruntime-node directly (batch 1): each
 * call feeds the new tokens with an all-ones attention mask over past + new positions and the
 * cache so far as `past_key_values.N.*`, exactly as a KV-cached generator does. The cache so far
 * is the previous call's `present.N.*` or, for graphs that output only the new positions, the
 * previous cache with `new_key_values.N.*` appended. The ONNX side of the ONNX-vs-reference
 * tests; the server's runner is tested elsewhere.
 */
export class OnnxDecoderSequence {
  /** Per layer: key and value [1, kvHeads, length, headDim] from the previous call. */
  private past: { key: ort.Tensor; value: ort.Tensor }[];
  private filled = 0;

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly shape: Qwen3Shape,
  ) {
    const empty = () => new ort.Tensor('float32', new Float32Array(0), [1, shape.numKeyValueHeads, 0, shape.headDim]);
    this.past = Array.from({ length: shape.numHiddenLayers }, () => ({ key: empty(), value: empty() }));
  }

  /** Positions in the KV cache so far. */
  get length(): number {
    return this.filled;
  }

  /** Runs the tokens after those already cached; returns logits [tokens.length, vocab]. */
  async forward(tokens: readonly number[]): Promise<Float32Array> {
    const total = this.filled + tokens.length;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [1, tokens.length]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
    };
    this.past.forEach(({ key, value }, layer) => {
      feeds[`past_key_values.${layer}.key`] = key;
      feeds[`past_key_values.${layer}.value`] = value;
    });
    const out = await this.session.run(feeds);
    this.past = this.past.map((past, layer) =>
      this.session.outputNames.includes('present.0.key')
        ? { key: out[`present.${layer}.key`], value: out[`present.${layer}.value`] }
        : {
            key: withNewPositions(past.key, out[`new_key_values.${layer}.key`], [this.filled], total),
            value: withNewPositions(past.value, out[`new_key_values.${layer}.value`], [this.filled], total),
          },
    );
    const presentDims = this.past[0].key.dims;
    if (presentDims[2] !== total) throw new Error(`present holds ${presentDims[2]} positions, expected ${total}`);
    this.filled = total;
    const logits = out.logits;
    if (logits.dims[1] !== tokens.length || logits.dims[2] !== this.shape.vocabSize) {
      throw new Error(`logits have dims [${logits.dims}], expected [1, ${tokens.length}, ${this.shape.vocabSize}]`);
    }
    return logits.data as Float32Array;
  }
}

/** A single-threaded session: test files run two at a time on two cores. */
export function openDecoderSession(modelPath: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
}
