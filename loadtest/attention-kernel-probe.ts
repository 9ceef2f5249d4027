/**
 * Times one layer's decode attention over a cache of P positions (qwen3-4b: 8 KV heads, 4 query
 * heads per KV head, head size 128) in the ways a graph can store and read the cache, with 2
 * intra-op threads and spinning off:
 * - fp32: the cache as float32, FusedMatMul (q k^T) and MatMul (p v): what model.onnx does today;
 * - fp16cast: the cache as float16, Cast to float32 before the same two products;
 * - int8deq: int8 codes with one scale per position and head, dequantized (Cast, Mul) to float32
 *   before the same two products;
 * - fp32gemv: float32 keys stored transposed, one product per query head (MLAS's one-row path);
 * - int8mm: int8 codes read by onnxruntime's integer GEMM: scores as MatMulIntegerToFloat(keys as
 *   uint8 A, the query as 7-bit B), then the probabilities, scaled by each value's scale, quantized
 *   per row (one 7-bit code) and multiplied with the value codes by MatMulIntegerToFloat;
 * - int8t: the same with the keys stored transposed as int8 (the B operand) and the query as the
 *   uint8 A operand: the layout int8-cache-attention.ts uses.
 * Masks are left out: they are the same in every variant. PROFILE=<prefix> writes onnxruntime's
 * per-operator profile.
 *
 *   npx tsx loadtest/attention-kernel-probe.ts 2048 1,8
 *   VARIANTS=fp32,int8t npx tsx loadtest/attention-kernel-probe.ts 8192 1
 *
 * Measured on the 2-core AVX2 EPYC (P 2048, one layer, median of 7): fp32 2.15 ms (B 1) / 16.3 ms
 * (B 8), fp32gemv 2.55 / 25.1, int8mm 1.29 / 6.9, int8t 0.78 / 6.6. A single layer's cache fits
 * in the last-level cache here, unlike a whole model's, so these favour fp32.
 */
import ort from 'onnxruntime-node';
import { GraphBuilder, MICROSOFT_DOMAIN } from '../src/convert/onnx/graph-builder.js';
import { InlineInitializerStore } from '../src/convert/onnx/initializer-store.js';
import { DataType, encodeModel, valueInfo } from '../src/convert/onnx/proto-factory.js';

const KV_HEADS = 8;
const GROUPS = 4;
const HEAD_DIM = 128;
const P = Number(process.argv[2] ?? 2048);
const rowCounts = (process.argv[3] ?? '1,8').split(',').map(Number);

function build(variant: string): Uint8Array {
  const g = new GraphBuilder(new InlineInitializerStore());
  const q = g.input(valueInfo('q', DataType.FLOAT, ['B', KV_HEADS, GROUPS, HEAD_DIM]));
  const cacheType = variant.startsWith('fp32') ? DataType.FLOAT : variant === 'fp16cast' ? DataType.FLOAT16 : DataType.INT8;
  const k = g.input(valueInfo('k', variant === 'int8mm' ? DataType.UINT8 : cacheType, variant === 'fp32gemv' || variant === 'int8t' ? ['B', KV_HEADS, HEAD_DIM, 'P'] : ['B', KV_HEADS, 'P', HEAD_DIM]));
  const v = g.input(valueInfo('v', cacheType, ['B', KV_HEADS, 'P', HEAD_DIM]));
  const scale = { float: 1 / Math.sqrt(HEAD_DIM) };
  let out: string;
  if (variant === 'fp32gemv') {
    // Keys stored transposed [B, kv, D, P]; each query head a separate 1-row product (MLAS's GEMV path).
    const q5 = g.op('Reshape', 'q5', [q, g.int64([0, KV_HEADS, GROUPS, 1, HEAD_DIM])]);
    const kt = g.op('Unsqueeze', 'kt5', [k, g.int64([2])]); // [B, kv, 1, D, P]
    const scores = g.op('MatMul', 'scores', [q5, kt]); // [B, kv, G, 1, P]
    const probs = g.op('Softmax', 'softmax', [g.op('Mul', 'alpha', [scores, g.float32(scale.float)])], { axis: -1 });
    const v5 = g.op('Unsqueeze', 'v5', [v, g.int64([2])]); // [B, kv, 1, P, D]
    out = g.op('Reshape', 'o4', [g.op('MatMul', 'pv', [probs, v5]), g.int64([0, KV_HEADS, GROUPS, HEAD_DIM])]);
  } else if (variant === 'int8t') {
    // Keys stored transposed as int8 [B, kv, D, P] (B operand); the query as uint8 A (7-bit, zero point 64).
    const ks = g.input(valueInfo('ks', DataType.FLOAT, ['B', KV_HEADS, 1, 'P']));
    const vs = g.input(valueInfo('vs', DataType.FLOAT, ['B', KV_HEADS, 1, 'P']));
    const qMax = g.op('ReduceMax', 'qmax', [g.op('Abs', 'qabs', [q])], { axes: [-1], keepdims: 1 });
    const qScale = g.op('Max', 'qscale', [g.op('Div', 'qdiv', [qMax, g.float32(63)]), g.float32(1e-30)]);
    const qCodes = g.op('Cast', 'qcast', [g.op('Add', 'q64', [g.op('Round', 'qround', [g.op('Div', 'qq', [q, qScale])]), g.float32(64)])], { to: DataType.UINT8 });
    const raw = g.node('MatMulIntegerToFloat', 'qk', [qCodes, k, g.float32(1), g.float32(1), g.uint8(64)], { domain: MICROSOFT_DOMAIN })[0]; // [B,kv,G,P]
    const scores = g.op('Mul', 'kscale', [g.op('Mul', 'qscale_rows', [raw, g.op('Mul', 'alpha', [qScale, g.float32(scale.float)])]), ks]);
    const probs = g.op('Softmax', 'softmax', [scores], { axis: -1 });
    const weighted = g.op('Mul', 'pw', [probs, vs]);
    const pMax = g.op('ReduceMax', 'pmax', [weighted], { axes: [-1], keepdims: 1 });
    const pScale = g.op('Max', 'pscale', [g.op('Div', 'pdiv', [pMax, g.float32(127)]), g.float32(1e-30)]);
    const pCodes = g.op('Cast', 'pcast', [g.op('Round', 'pround', [g.op('Div', 'pq', [weighted, pScale])])], { to: DataType.UINT8 });
    const pv = g.node('MatMulIntegerToFloat', 'pv', [pCodes, v, g.float32(1), g.float32(1)], { domain: MICROSOFT_DOMAIN })[0];
    out = g.op('Mul', 'pv_scale', [pv, pScale]);
  } else if (variant === 'fp32' || variant === 'fp16cast' || variant === 'int8deq') {
    let kf = k;
    let vf = v;
    if (variant === 'fp16cast') {
      kf = g.op('Cast', 'kcast', [k], { to: DataType.FLOAT });
      vf = g.op('Cast', 'vcast', [v], { to: DataType.FLOAT });
    } else if (variant === 'int8deq') {
      const ks = g.input(valueInfo('ks', DataType.FLOAT, ['B', KV_HEADS, 'P', 1]));
      const vs = g.input(valueInfo('vs', DataType.FLOAT, ['B', KV_HEADS, 'P', 1]));
      kf = g.op('Mul', 'kdeq', [g.op('Cast', 'kcast', [k], { to: DataType.FLOAT }), ks]);
      vf = g.op('Mul', 'vdeq', [g.op('Cast', 'vcast', [v], { to: DataType.FLOAT }), vs]);
    }
    const scores = g.op('FusedMatMul', 'scores', [q, kf], { transA: 0, transB: 1, alpha: scale }, MICROSOFT_DOMAIN);
    const probs = g.op('Softmax', 'softmax', [scores], { axis: -1 });
    out = g.op('MatMul', 'pv', [probs, vf]);
  } else {
    const ks = g.input(valueInfo('ks', DataType.FLOAT, ['B', KV_HEADS, 'P', 1]));
    const vs = g.input(valueInfo('vs', DataType.FLOAT, ['B', KV_HEADS, 'P', 1]));
    // q per query row to 7-bit signed codes (the B operand): [B, kv, D, G].
    const qMax = g.op('ReduceMax', 'qmax', [g.op('Abs', 'qabs', [q])], { axes: [-1], keepdims: 1 }); // [B,kv,G,1]
    const qScale = g.op('Max', 'qscale', [g.op('Div', 'qdiv', [qMax, g.float32(63)]), g.float32(1e-30)]);
    const qCodes = g.op('Cast', 'qcast', [g.op('Round', 'qround', [g.op('Div', 'qq', [q, qScale])])], { to: DataType.INT8 });
    const qT = g.op('Transpose', 'qT', [qCodes], { perm: [0, 1, 3, 2] }); // [B,kv,D,G]
    // Keys as MatMulIntegerToFloat's uint8 A (codes stored offset by 128), the query codes as B.
    const scoresT = g.node('MatMulIntegerToFloat', 'qk', [k, qT, g.float32(1), g.float32(1), g.uint8(128)], { domain: MICROSOFT_DOMAIN })[0]; // [B,kv,P,G]
    const scaledT = g.op('Mul', 'kscale', [scoresT, ks]);
    const scoresRows = g.op('Mul', 'qscale_rows', [g.op('Transpose', 'sT', [scaledT], { perm: [0, 1, 3, 2] }), g.op('Mul', 'alpha', [qScale, g.float32(scale.float)])]);
    const probs = g.op('Softmax', 'softmax', [scoresRows], { axis: -1 }); // [B,kv,G,P]
    // Fold each value's scale into its probability, then quantize each row to uint8 [0, 127].
    const vsT = g.op('Transpose', 'vsT', [vs], { perm: [0, 1, 3, 2] }); // [B,kv,1,P]
    const weighted = g.op('Mul', 'pw', [probs, vsT]);
    const pMax = g.op('ReduceMax', 'pmax', [weighted], { axes: [-1], keepdims: 1 });
    const pScale = g.op('Max', 'pscale', [g.op('Div', 'pdiv', [pMax, g.float32(127)]), g.float32(1e-30)]);
    const pCodes = g.op('Cast', 'pcast', [g.op('Round', 'pround', [g.op('Div', 'pq', [weighted, pScale])])], { to: DataType.UINT8 });
    const pv = g.node('MatMulIntegerToFloat', 'pv', [pCodes, v, g.float32(1), g.float32(1)], { domain: MICROSOFT_DOMAIN })[0];
    out = g.op('Mul', 'pv_scale', [pv, pScale]);
  }
  g.node('Identity', 'out', [out], { outputs: ['out'] });
  g.output(valueInfo('out', DataType.FLOAT, ['B', KV_HEADS, GROUPS, HEAD_DIM]));
  return encodeModel(g.toModel('probe', {}));
}

function feedsFor(variant: string, rows: number): Record<string, ort.Tensor> {
  const cache = rows * KV_HEADS * P * HEAD_DIM;
  const q = new Float32Array(rows * KV_HEADS * GROUPS * HEAD_DIM).map((_, i) => Math.sin(i * 0.37));
  const dims = [rows, KV_HEADS, P, HEAD_DIM];
  const feeds: Record<string, ort.Tensor> = { q: new ort.Tensor('float32', q, [rows, KV_HEADS, GROUPS, HEAD_DIM]) };
  const kDims = variant === 'fp32gemv' || variant === 'int8t' ? [rows, KV_HEADS, HEAD_DIM, P] : dims;
  if (variant.startsWith('fp32')) {
    feeds.k = new ort.Tensor('float32', new Float32Array(cache).map((_, i) => Math.cos(i * 0.11)), kDims);
    feeds.v = new ort.Tensor('float32', new Float32Array(cache).map((_, i) => Math.sin(i * 0.13)), dims);
  } else if (variant === 'fp16cast') {
    feeds.k = new ort.Tensor('float16', new Uint16Array(cache).fill(0x3c00), dims);
    feeds.v = new ort.Tensor('float16', new Uint16Array(cache).fill(0x3800), dims);
  } else {
    feeds.k = variant === 'int8mm'
      ? new ort.Tensor('uint8', new Uint8Array(cache).map((_, i) => (i * 37) % 255), dims)
      : new ort.Tensor('int8', new Int8Array(cache).map((_, i) => (i * 37) % 127 - 63), kDims);
    feeds.v = new ort.Tensor('int8', new Int8Array(cache).map((_, i) => (i * 53) % 127 - 63), dims);
    const scaleDims = variant === 'int8t' ? [rows, KV_HEADS, 1, P] : [rows, KV_HEADS, P, 1];
    feeds.ks = new ort.Tensor('float32', new Float32Array(rows * KV_HEADS * P).fill(0.01), scaleDims);
    feeds.vs = new ort.Tensor('float32', new Float32Array(rows * KV_HEADS * P).fill(0.01), scaleDims);
  }
  return feeds;
}

for (const variant of (process.env.VARIANTS ?? 'fp32,fp16cast,int8deq,int8mm').split(',')) {
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', extra: { session: { 'intra_op.allow_spinning': '0' } }, ...(process.env.PROFILE ? { enableProfiling: true, profileFilePrefix: `${process.env.PROFILE}-${variant}` } : {}) };
  const session = await ort.InferenceSession.create(build(variant), options);
  const row: string[] = [];
  for (const rows of rowCounts) {
    const feeds = feedsFor(variant, rows);
    await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    row.push(`B=${rows}: ${times[3].toFixed(2)} ms (x36 layers: ${(times[3] * 36).toFixed(0)} ms)`);
  }
  console.log(`${variant.padEnd(9)} P=${P}`, row.join('  '));
  await session.release();
}
