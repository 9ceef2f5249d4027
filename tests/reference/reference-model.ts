import type { Qwen3Shape } from '../../src/convert/shape.js';
import type { WeightSource } from '../../src/convert/weights/weight-source.js';
import { runDecoderLayer } from './decoder-layer.js';
import { ReferenceKvCache } from './kv-cache.js';
import { linear } from './linear.js';
import { loadReferenceWeights, type ReferenceWeights } from './reference-weights.js';
import { rmsNorm } from './rms-norm.js';
import { RotaryEmbedding } from './rotary-embedding.js';

/** Which positions of a chunk get logits: all of them, or only the last (cheaper prefill). */
export type LogitRows = 'all' | 'last';

/**
 * The correctness oracle: a plain TypeScript fp32 Qwen3ForCausalLM forward pass, independent of
 * onnxruntime and of the graph writer. Holds every weight in memory (load it for small models);
 * each sequence keeps its own KV cache so a prompt can be prefilled and then decoded token by token.
 */
export class ReferenceModel {
  private constructor(
    readonly shape: Qwen3Shape,
    private readonly weights: ReferenceWeights,
    private readonly rotary: RotaryEmbedding,
  ) {}

  /** Reads every tensor from the source once; the source may be closed afterwards. */
  static load(source: WeightSource): ReferenceModel {
    const shape = { ...source.shape };
    return new ReferenceModel(shape, loadReferenceWeights(source), new RotaryEmbedding(shape.headDim, shape.ropeTheta));
  }

  /** A new, empty sequence over this model's weights. */
  newSequence(): ReferenceSequence {
    return new ReferenceSequence(this);
  }

  /**
   * Runs a chunk of tokens after the positions already in `cache` and returns logits
   * [seqLen, vocab] ('all') or [1, vocab] for the chunk's last token ('last').
   */
  forwardChunk(tokens: ArrayLike<number>, cache: ReferenceKvCache, logitRows: LogitRows): Float32Array {
    const { hiddenSize, vocabSize } = this.shape;
    const seqLen = tokens.length;
    if (seqLen === 0) throw new Error('reference forward: no tokens given');
    const startPosition = cache.length;

    const hidden = new Float32Array(seqLen * hiddenSize); // [seqLen, hidden]
    for (let s = 0; s < seqLen; s++) {
      const token = tokens[s];
      if (!Number.isInteger(token) || token < 0 || token >= vocabSize) {
        throw new Error(`reference forward: token ${token} at index ${s} is outside the vocabulary of ${vocabSize}`);
      }
      hidden.set(this.weights.embedding.subarray(token * hiddenSize, (token + 1) * hiddenSize), s * hiddenSize);
    }

    const context = { shape: this.shape, rotary: this.rotary, cache, seqLen, startPosition };
    this.weights.layers.forEach((layerWeights, layer) => runDecoderLayer(hidden, layer, layerWeights, context));
    cache.commit(seqLen);

    // Only the rows that get logits need the final norm and the (dominant) LM head.
    const rows = logitRows === 'all' ? seqLen : 1;
    const selected = logitRows === 'all' ? hidden : hidden.subarray((seqLen - 1) * hiddenSize);
    const normed = rmsNorm(selected, rows, hiddenSize, this.weights.finalNorm, this.shape.rmsNormEps); // [rows, hidden]
    return linear(normed, rows, this.weights.lmHead, vocabSize, hiddenSize); // [rows, vocab]
  }
}

/** One sequence being run through the reference model: its tokens so far live in its KV cache. */
export class ReferenceSequence {
  private readonly cache: ReferenceKvCache;

  constructor(private readonly model: ReferenceModel) {
    const { numHiddenLayers, numKeyValueHeads, headDim } = model.shape;
    this.cache = new ReferenceKvCache(numHiddenLayers, numKeyValueHeads, headDim);
  }

  /** Tokens processed so far (the position the next token will take). */
  get length(): number {
    return this.cache.length;
  }

  /**
   * Appends tokens (a prompt chunk, or one decoded token) and returns their logits, row-major
   * [tokens.length, vocab] for 'all' or [1, vocab] for 'last'.
   */
  forward(tokens: ArrayLike<number>, logitRows: LogitRows = 'all'): Float32Array {
    return this.model.forwardChunk(tokens, this.cache, logitRows);
  }
}
