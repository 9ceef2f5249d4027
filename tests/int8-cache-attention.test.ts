import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { addCacheReadAttention, addCacheReadInputs, addJoinedMask } from '../src/convert/onnx/cache-read-attention.js';
import { GraphBuilder } from '../src/convert/onnx/graph-builder.js';
import { bytesOf, InlineInitializerStore } from '../src/convert/onnx/initializer-store.js';
import { addInt8CacheAttention, addProbabilityCodes, INT8_KEY_BLOCK } from '../src/convert/onnx/int8-cache-attention.js';
import { DataType, encodeModel, valueInfo } from '../src/convert/onnx/proto-factory.js';
import { PRESETS } from '../src/convert/shape.js';
import { seededRandom } from './helpers/random-tokens.js';

/**
 * The int8 cache's attention arithmetic alone, against float attention over the same (dequantized)
 * cache: one layer of qwen3-4b's head layout (8 KV heads of 4 query heads, head size 128), rotary
 * switched off (cos 1, sin 0) so the test can aim queries at chosen keys.
 *
 * The hard case is an attention sink: real models put much of a head's probability on one
 * position (often the first) and spread the rest thinly. One 7-bit code per probability would
 * round every thin one to 0 (0.5 / 1000 is below half of 0.5 / 127) and drop half the output;
 * the coarse + fine codes keep about 14 bits.
 *
 * Measured (relative error of the attention output, the norm of the difference over the norm of
 * the float result): sink case 0.0037, diffuse case 0.0012. Limit 0.01 both.
 *
 * The int8 cache's keys are read in both layouts, transposed whole (exports before blocks) and in
 * blocks of INT8_KEY_BLOCK positions; the two must give the same bits, since only the order in
 * which the product reads the codes differs.
 */
const shape = { ...PRESETS['qwen3-4b'], maxPositionEmbeddings: 2048 };
const { numAttentionHeads: heads, numKeyValueHeads: kvHeads, headDim } = shape;
const CACHED = 1000;
/** The cache's capacity: whole key blocks, the positions past CACHED masked (as in the runner's pool). */
const CAPACITY = Math.ceil(CACHED / INT8_KEY_BLOCK) * INT8_KEY_BLOCK;
const LIMIT = 0.01;

type Variant = 'float' | 'int8' | 'int8-blocked';

function buildAttention(variant: Variant): Uint8Array {
  const g = new GraphBuilder(new InlineInitializerStore());
  const inputIds = g.input(valueInfo('input_ids', DataType.INT64, ['B', 'S']));
  const attentionMask = g.input(valueInfo('attention_mask', DataType.INT64, ['B', 'T']));
  const q = g.input(valueInfo('q', DataType.FLOAT, ['B', 'S', heads * headDim]));
  const k = g.input(valueInfo('k', DataType.FLOAT, ['B', 'S', kvHeads * headDim]));
  const v = g.input(valueInfo('v', DataType.FLOAT, ['B', 'S', kvHeads * headDim]));
  const cacheDims = (width: number) => ['B', kvHeads, 'P', width];
  const identity = { cos: new Float32Array(shape.maxPositionEmbeddings * (headDim / 2)).fill(1), sin: new Float32Array(shape.maxPositionEmbeddings * (headDim / 2)) };
  const cosCache = g.initializer('cos', DataType.FLOAT, [shape.maxPositionEmbeddings, headDim / 2], bytesOf(identity.cos));
  const sinCache = g.initializer('sin', DataType.FLOAT, [shape.maxPositionEmbeddings, headDim / 2], bytesOf(identity.sin));
  let out: string;
  if (variant === 'float') {
    const pastKey = g.input(valueInfo('past_key', DataType.FLOAT, cacheDims(headDim)));
    const pastValue = g.input(valueInfo('past_value', DataType.FLOAT, cacheDims(headDim)));
    const inputs = addCacheReadInputs(g, shape, { attentionMask, inputIds, pastCache0: pastValue, cosCache, sinCache });
    out = addCacheReadAttention(g, shape, '/attn', inputs, { q, k, v, pastKey, pastValue, newKeyName: 'new_key', newValueName: 'new_value' });
  } else {
    const keyBlock = variant === 'int8-blocked' ? INT8_KEY_BLOCK : 0;
    const key = g.input(valueInfo('past_key', DataType.INT8, keyBlock ? ['B', kvHeads, 'N', headDim, keyBlock] : ['B', kvHeads, headDim, 'P']));
    const value = g.input(valueInfo('past_value', DataType.INT8, cacheDims(headDim)));
    const keyScale = g.input(valueInfo('past_key_scale', DataType.FLOAT, cacheDims(1)));
    const valueScale = g.input(valueInfo('past_value_scale', DataType.FLOAT, cacheDims(1)));
    const inputs = addCacheReadInputs(g, shape, { attentionMask, inputIds, pastCache0: value, cosCache, sinCache });
    out = addInt8CacheAttention(g, shape, '/attn', inputs, addJoinedMask(g, inputs), {
      q,
      k,
      v,
      past: { key, value, keyScale, valueScale },
      keyBlock,
      outputs: { key: 'new_key', value: 'new_value', keyScale: 'new_key_scale', valueScale: 'new_value_scale' },
    });
  }
  g.node('Identity', '/out', [out], { outputs: ['out'] });
  g.output(valueInfo('out', DataType.FLOAT, ['B', 'S', heads * headDim]));
  return encodeModel(g.toModel('attention', {}));
}

/** Symmetric codes per (head, position) over headDim values, as the int8 graph stores them ([kvHeads, P, headDim] here; zero caches code to 0). */
function quantizeCache(cache: Float32Array): { codes: Int8Array; scales: Float32Array; dequantized: Float32Array } {
  const rows = cache.length / headDim;
  const codes = new Int8Array(cache.length);
  const scales = new Float32Array(rows);
  const dequantized = new Float32Array(cache.length);
  for (let r = 0; r < rows; r++) {
    let maxAbs = 0;
    for (let d = 0; d < headDim; d++) maxAbs = Math.max(maxAbs, Math.abs(cache[r * headDim + d]));
    const scale = Math.fround(Math.max(maxAbs / 127, 1.1754943508222875e-38));
    scales[r] = scale;
    for (let d = 0; d < headDim; d++) {
      const code = Math.round(cache[r * headDim + d] / scale);
      codes[r * headDim + d] = code;
      dequantized[r * headDim + d] = code * scale;
    }
  }
  return { codes, scales, dequantized };
}

/**
 * One decode step over CACHED positions. With `sink`, every query head points at its KV head's
 * position-0 key so strongly that it takes about half the probability; otherwise scores are small
 * and the probability is spread.
 */
async function compare(sink: boolean): Promise<{ flat: number; blocked: number; identical: boolean }> {
  const random = seededRandom(sink ? 11 : 12);
  const normal = () => (random() + random() + random() - 1.5) * 2;
  // [kvHeads, CAPACITY, headDim], positions from CACHED on left zero (masked, never written).
  const cached = (h: number, p: number) => p < CACHED;
  const pastKey = new Float32Array(kvHeads * CAPACITY * headDim).map((_, i) => (cached(Math.floor(i / (CAPACITY * headDim)), Math.floor(i / headDim) % CAPACITY) ? normal() : 0));
  const pastValue = new Float32Array(kvHeads * CAPACITY * headDim).map((_, i) => (cached(Math.floor(i / (CAPACITY * headDim)), Math.floor(i / headDim) % CAPACITY) ? normal() : 0));
  const q = new Float32Array(heads * headDim).map(() => normal() * 0.1);
  if (sink) {
    const groups = heads / kvHeads;
    for (let h = 0; h < heads; h++) {
      const kv = Math.floor(h / groups);
      // Score 0 about ln(CACHED) above the rest: half the mass on position 0.
      const key0 = pastKey.subarray(kv * CAPACITY * headDim, kv * CAPACITY * headDim + headDim);
      const norm = key0.reduce((sum, x) => sum + x * x, 0);
      const strength = (Math.log(CACHED) * Math.sqrt(headDim)) / norm;
      for (let d = 0; d < headDim; d++) q[h * headDim + d] += key0[d] * strength;
    }
  }
  const k = new Float32Array(kvHeads * headDim).map(normal);
  const v = new Float32Array(kvHeads * headDim).map(normal);
  const keys = quantizeCache(pastKey);
  const values = quantizeCache(pastValue);
  // The graph reads key codes transposed, [kvHeads, headDim, P], or in blocks [kvHeads, P / N, headDim, N].
  const keyCodesT = new Int8Array(keys.codes.length);
  const keyCodesBlocked = new Int8Array(keys.codes.length);
  const n = INT8_KEY_BLOCK;
  for (let h = 0; h < kvHeads; h++) {
    for (let p = 0; p < CAPACITY; p++) {
      for (let d = 0; d < headDim; d++) {
        const code = keys.codes[(h * CAPACITY + p) * headDim + d];
        keyCodesT[(h * headDim + d) * CAPACITY + p] = code;
        keyCodesBlocked[h * CAPACITY * headDim + (Math.floor(p / n) * headDim + d) * n + (p % n)] = code;
      }
    }
  }
  const common = {
    input_ids: new ort.Tensor('int64', new BigInt64Array(1), [1, 1]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(CACHED + 1).fill(1n), [1, CACHED + 1]),
    q: new ort.Tensor('float32', q, [1, 1, heads * headDim]),
    k: new ort.Tensor('float32', k, [1, 1, kvHeads * headDim]),
    v: new ort.Tensor('float32', v, [1, 1, kvHeads * headDim]),
  };
  const dims = [1, kvHeads, CAPACITY, headDim];
  const scaleDims = [1, kvHeads, CAPACITY, 1];
  const run = async (variant: Variant, feeds: Record<string, ort.Tensor>) => {
    const session = await ort.InferenceSession.create(buildAttention(variant), { intraOpNumThreads: 1 });
    try {
      return (await session.run({ ...common, ...feeds })).out.data as Float32Array;
    } finally {
      await session.release();
    }
  };
  // The float graph reads the dequantized cache, so only the attention arithmetic differs (and the
  // step's own key and value, which the int8 graph quantizes and the float one does not).
  const expected = await run('float', { past_key: new ort.Tensor('float32', keys.dequantized, dims), past_value: new ort.Tensor('float32', values.dequantized, dims) });
  const int8 = (variant: Variant, pastKeyTensor: ort.Tensor) =>
    run(variant, {
      past_key: pastKeyTensor,
      past_value: new ort.Tensor('int8', values.codes, dims),
      past_key_scale: new ort.Tensor('float32', keys.scales, scaleDims),
      past_value_scale: new ort.Tensor('float32', values.scales, scaleDims),
    });
  const flat = await int8('int8', new ort.Tensor('int8', keyCodesT, [1, kvHeads, headDim, CAPACITY]));
  const blocked = await int8('int8-blocked', new ort.Tensor('int8', keyCodesBlocked, [1, kvHeads, CAPACITY / n, headDim, n]));
  const relativeError = (ours: Float32Array) => {
    let difference = 0;
    let norm = 0;
    for (let i = 0; i < expected.length; i++) {
      difference += (ours[i] - expected[i]) ** 2;
      norm += expected[i] ** 2;
    }
    return Math.sqrt(difference / norm);
  };
  return { flat: relativeError(flat), blocked: relativeError(blocked), identical: flat.every((x, i) => Object.is(x, blocked[i])) };
}

describe('int8 cache attention arithmetic', () => {
  it('keeps the thin probabilities beside an attention sink, with the same bits in both key layouts', async () => {
    const { flat, blocked, identical } = await compare(true);
    expect(flat).toBeLessThan(LIMIT);
    expect(blocked).toBe(flat);
    expect(identical).toBe(true);
  });

  it('matches float attention when probability is spread over every position, with the same bits in both key layouts', async () => {
    const { flat, blocked, identical } = await compare(false);
    expect(flat).toBeLessThan(LIMIT);
    expect(blocked).toBe(flat);
    expect(identical).toBe(true);
  });

  it('codes probabilities as floor(x / 128) and floor(x mod 128) at the edges of both halves', async () => {
    // Every whole value of the 14-bit range, and each one plus a fraction just under the next:
    // both codes must be the floor (never rounded up into the next code), each at most 127.
    const values: number[] = [];
    for (let x = 0; x <= 16383; x++) values.push(x, x + 0.5, Math.fround(x + 1 - 2 ** -10));
    const g = new GraphBuilder(new InlineInitializerStore());
    const x = g.input(valueInfo('x', DataType.FLOAT, [1, values.length]));
    g.node('Identity', 'out', [addProbabilityCodes(g, 'codes', x, g.float32Tensor([1], [1, 1]))], { outputs: ['codes'] });
    g.output(valueInfo('codes', DataType.UINT8, [2, values.length]));
    const session = await ort.InferenceSession.create(encodeModel(g.toModel('codes', {})));
    const { codes } = await session.run({ x: new ort.Tensor('float32', Float32Array.from(values), [1, values.length]) });
    const data = codes.data as Uint8Array;
    let wrong = 0;
    values.forEach((value, i) => {
      const whole = Math.floor(Math.fround(value));
      if (data[i] !== whole >> 7 || data[values.length + i] !== (whole & 127)) wrong++;
    });
    expect(wrong).toBe(0);
    expect(Math.max(...data)).toBe(127);
    await session.release();
  });
});
