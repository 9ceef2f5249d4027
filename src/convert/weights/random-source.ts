import { RandomStream } from '../../random/random-stream.js';
import type { Qwen3Shape } from '../shape.js';
import { EMBEDDING_WEIGHT, expectedWeightDims, type WeightSource, type WeightTensor } from './weight-source.js';

/**
 * A seeded-random Qwen3 checkpoint. Every tensor is a pure function of (seed, tensor name):
 * nothing is cached and no tensor depends on another, so a 4B-shaped model can be generated one
 * tensor at a time, in any order, and two runs with the same seed agree bit for bit.
 *
 * Scales are chosen so a forward pass behaves like a trained model's in the ways tests care about
 * (see `initScale`): unit-variance projections, norm weights near 1, and last-position logits with
 * a standard deviation of about `LOGIT_STD`, so greedy decoding has clear winners and quantization
 * error is small next to the logit spread but not invisible.
 */
export function createRandomWeightSource(shape: Qwen3Shape, seed: number): WeightSource {
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`seed must be an integer in [0, 2^32), got ${seed}`);
  }
  const dims = expectedWeightDims(shape);
  let closed = false;
  return {
    shape,
    get(name: string): WeightTensor {
      if (closed) throw new Error('random weight source is closed');
      const tensorDims = dims.get(name);
      if (!tensorDims) throw new Error(`no tensor named ${name} in a Qwen3 model of this shape`);
      const count = tensorDims.reduce((a, b) => a * b, 1);
      const data = new Float32Array(count);
      const { mean, std } = initScale(name, tensorDims, shape);
      fillNormal(data, RandomStream.fromState(streamKey(seed, name)), mean, std);
      return { dims: [...tensorDims], data };
    },
    close() {
      closed = true;
    },
  };
}

/** Target standard deviation of one position's logits over the vocabulary. */
const LOGIT_STD = 4;
/** Spread of norm weights around 1: enough that a wrong weight index changes the output. */
const NORM_WEIGHT_STD = 0.1;

/**
 * Mean and standard deviation of a tensor's entries.
 *
 * - Linear weights [out, in]: std 1/sqrt(in), so each projection of a unit-RMS input (every one is
 *   fed by an RMSNorm or by the previous projection) gives unit-variance outputs.
 * - The embedding [vocab, hidden] doubles as the tied LM head, whose input is the final RMSNorm's
 *   unit-RMS output, so a row std of LOGIT_STD/sqrt(hidden) gives logits of std ~LOGIT_STD.
 * - Norm weights: 1 with a little noise.
 */
function initScale(name: string, dims: number[], shape: Qwen3Shape): { mean: number; std: number } {
  if (name.endsWith('norm.weight')) return { mean: 1, std: NORM_WEIGHT_STD };
  if (name === EMBEDDING_WEIGHT || name === 'lm_head.weight') {
    return { mean: 0, std: LOGIT_STD / Math.sqrt(shape.hiddenSize) };
  }
  const fanIn = dims[dims.length - 1];
  return { mean: 0, std: 1 / Math.sqrt(fanIn) };
}

/**
 * Fills `out` with approximately normal samples: the Irwin-Hall sum of four 16-bit uniforms,
 * standardized. It has the normal's mean, variance and bell shape with tails cut at ±3.46σ, and
 * costs two generator steps per value instead of Box-Muller's log/sqrt/cos, which matters when
 * four billion values are drawn for a 4B model (about 8 ns a value).
 */
function fillNormal(out: Float32Array, rng: RandomStream, mean: number, std: number): void {
  // Sum of four U{0..65535}: mean 4 * 32767.5, variance 4 * (65536^2 - 1) / 12.
  const center = 4 * 32767.5;
  const scale = std / Math.sqrt((4 * (65536 * 65536 - 1)) / 12);
  for (let i = 0; i < out.length; i++) {
    const a = rng.nextUint32();
    const b = rng.nextUint32();
    const sum = (a & 0xffff) + (a >>> 16) + (b & 0xffff) + (b >>> 16);
    out[i] = mean + (sum - center) * scale;
  }
}

/** A 128-bit generator key from the seed and the tensor name (FNV-1a, then SplitMix32 to spread it). */
function streamKey(seed: number, name: string): Uint32Array {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0;
  }
  const mixer = new SplitMix32((hash ^ Math.imul(seed, 0x9e3779b1)) >>> 0);
  // Folding the seed in a second time keeps two (seed, name) pairs whose first mix collides apart.
  const key = new Uint32Array([mixer.next(), mixer.next() ^ seed, mixer.next(), mixer.next()]);
  // xoshiro's all-zero state is a fixed point; any other state is fine.
  if (key.every((word) => word === 0)) key[0] = 1;
  return key;
}

/** SplitMix32: turns one 32-bit value into a stream of well-mixed words (used only for keys). */
class SplitMix32 {
  constructor(private state: number) {}

  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
}
