/**
 * Times one layer's prefill-chunk attention over an int8 KV cache (qwen3-4b: 32 query heads over 8
 * KV heads, head size 128): S new tokens attending over P cached positions plus themselves, B rows,
 * 2 intra-op threads, spinning off. Variants:
 * - integer: the main graph's route (int8-cache-attention.ts), every step around the integer
 *   products an operator over the whole [B, kvHeads, groups * S, S + P] score tensor;
 * - dequantized: the prefill graph's route (dequantized-cache-attention.ts), the cache widened to
 *   float32 behind the step's own keys and values, read by onnxruntime's MultiHeadAttention, which
 *   computes scores, mask, softmax and the value product head by head.
 * Prints the median and minimum of 5 runs and the largest difference between the variants' outputs.
 *
 *   npx tsx loadtest/prefill-attention-probe.ts 3000 128      # P S [B]
 *   VARIANTS=dequantized PROFILE=/tmp/p npx tsx loadtest/prefill-attention-probe.ts 3000 128
 *
 * Measured on the 2-core Zen 5 (AVX-512 VNNI), one layer, median: S 128 over P 3000: integer
 * 57.4 ms, dequantized 36.0 ms (x 36 layers: 2.07 s against 1.29 s a chunk); S 2048 over P 1:
 * 754 ms against 568 ms. Largest output difference 2.8e-3 (outputs up to 0.2): the integer route
 * codes queries on 7 bits and probabilities on 14.
 */
import ort from 'onnxruntime-node';
import { addCacheReadInputs, addJoinedMask } from '../src/convert/onnx/cache-read-attention.js';
import { addDequantizedCacheAttention } from '../src/convert/onnx/dequantized-cache-attention.js';
import { GraphBuilder } from '../src/convert/onnx/graph-builder.js';
import { InlineInitializerStore } from '../src/convert/onnx/initializer-store.js';
import { addInt8CacheAttention } from '../src/convert/onnx/int8-cache-attention.js';
import { DataType, encodeModel, valueInfo } from '../src/convert/onnx/proto-factory.js';
import { buildRotaryCache } from '../src/convert/onnx/rotary-cache.js';
import { PRESETS } from '../src/convert/shape.js';

const shape = PRESETS['qwen3-4b'];
const { numKeyValueHeads: KV, numAttentionHeads: HEADS, headDim: D } = shape;
const P = Number(process.argv[2] ?? 3000);
const S = Number(process.argv[3] ?? 128);
const B = Number(process.argv[4] ?? 1);
const MAX_POSITIONS = P + S + 8;

function build(variant: string): Uint8Array {
  const g = new GraphBuilder(new InlineInitializerStore());
  const attentionMask = g.input(valueInfo('attention_mask', DataType.INT64, ['B', 'T']));
  const inputIds = g.input(valueInfo('input_ids', DataType.INT64, ['B', 'S']));
  const pastKey = g.input(valueInfo('past_key', DataType.INT8, ['B', KV, D, 'P']));
  const pastValue = g.input(valueInfo('past_value', DataType.INT8, ['B', KV, 'P', D]));
  const pastKeyScale = g.input(valueInfo('past_key_scale', DataType.FLOAT, ['B', KV, 'P', 1]));
  const pastValueScale = g.input(valueInfo('past_value_scale', DataType.FLOAT, ['B', KV, 'P', 1]));
  const q = g.input(valueInfo('q', DataType.FLOAT, ['B', 'S', HEADS * D]));
  const k = g.input(valueInfo('k', DataType.FLOAT, ['B', 'S', KV * D]));
  const v = g.input(valueInfo('v', DataType.FLOAT, ['B', 'S', KV * D]));
  const rotary = buildRotaryCache(D, shape.ropeTheta, MAX_POSITIONS);
  const cosCache = g.initializer('cos_cache', DataType.FLOAT, [MAX_POSITIONS, D / 2], new Uint8Array(rotary.cos.buffer));
  const sinCache = g.initializer('sin_cache', DataType.FLOAT, [MAX_POSITIONS, D / 2], new Uint8Array(rotary.sin.buffer));
  const inputs = addCacheReadInputs(g, shape, { attentionMask, inputIds, pastCache0: pastValue, cosCache, sinCache });
  const joinedMask = addJoinedMask(g, inputs);
  const past = { key: pastKey, value: pastValue, keyScale: pastKeyScale, valueScale: pastValueScale };
  const outputs = { key: 'new_key', value: 'new_value', keyScale: 'new_key_scale', valueScale: 'new_value_scale' };
  const attended = variant === 'integer'
    ? addInt8CacheAttention(g, shape, '/probe', inputs, joinedMask, { q, k, v, past, keyBlock: 0, outputs })
    : addDequantizedCacheAttention(g, shape, '/probe', inputs, joinedMask, { q, k, v, past, keyBlock: 0, outputs });
  g.node('Identity', 'out', [attended], { outputs: ['out'] });
  g.output(valueInfo('out', DataType.FLOAT, ['B', 'S', HEADS * D]));
  for (const name of Object.values(outputs)) g.output(valueInfo(name, name.endsWith('scale') ? DataType.FLOAT : DataType.INT8, ['B', KV, 'a', 'b']));
  return encodeModel(g.toModel('probe', {}));
}

function feeds(): Record<string, ort.Tensor> {
  const wave = (n: number, f: number) => new Float32Array(n).map((_, i) => Math.sin(i * f));
  const cache = B * KV * P * D;
  const mask = new BigInt64Array(B * (P + S)).fill(1n);
  return {
    attention_mask: new ort.Tensor('int64', mask, [B, P + S]),
    input_ids: new ort.Tensor('int64', new BigInt64Array(B * S).fill(5n), [B, S]),
    past_key: new ort.Tensor('int8', new Int8Array(cache).map((_, i) => ((i * 37) % 255) - 127), [B, KV, D, P]),
    past_value: new ort.Tensor('int8', new Int8Array(cache).map((_, i) => ((i * 53) % 255) - 127), [B, KV, P, D]),
    past_key_scale: new ort.Tensor('float32', new Float32Array(B * KV * P).fill(0.02), [B, KV, P, 1]),
    past_value_scale: new ort.Tensor('float32', new Float32Array(B * KV * P).fill(0.02), [B, KV, P, 1]),
    q: new ort.Tensor('float32', wave(B * S * HEADS * D, 0.37), [B, S, HEADS * D]),
    k: new ort.Tensor('float32', wave(B * S * KV * D, 0.11), [B, S, KV * D]),
    v: new ort.Tensor('float32', wave(B * S * KV * D, 0.13), [B, S, KV * D]),
  };
}

const results: Record<string, Float32Array> = {};
for (const variant of (process.env.VARIANTS ?? 'integer,dequantized').split(',')) {
  const options: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    extra: { session: { 'intra_op.allow_spinning': '0' } },
    ...(process.env.PROFILE ? { enableProfiling: true, profileFilePrefix: `${process.env.PROFILE}-${variant}` } : {}),
  };
  const session = await ort.InferenceSession.create(build(variant), options);
  const input = feeds();
  results[variant] = (await session.run(input)).out.data as Float32Array;
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await session.run(input);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(`${variant.padEnd(11)} B=${B} S=${S} P=${P}: median ${times[2].toFixed(1)} ms, min ${times[0].toFixed(1)} ms (x36 layers: ${((times[2] * 36) / 1000).toFixed(2)} s)`);
  if (process.env.PROFILE) session.endProfiling();
  await session.release();
}
const [first, ...rest] = Object.keys(results);
for (const other of rest) {
  const a = results[first];
  const b = results[other];
  let maxDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    maxAbs = Math.max(maxAbs, Math.abs(a[i]));
  }
  console.log(`${other} vs ${first}: max |diff| ${maxDiff.toExponential(2)} (max |${first}| ${maxAbs.toFixed(3)})`);
}
