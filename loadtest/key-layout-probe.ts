/**
 * Times the score product of int8-cache decode attention, q k^T over P cached positions (qwen3-4b:
 * 8 KV heads, 4 query rows per KV head, head size 128), for layouts of the transposed key codes:
 * - flat: [B, kvHeads, headDim, P], what the cache stores today: one [4 x 128] x [128 x P] GEMM
 *   per KV head, whose B operand rows lie P bytes apart;
 * - blocked N: [B, kvHeads, P / N, headDim, N], each block of N positions contiguous: one GEMM per
 *   block, the query broadcast over blocks.
 * And the value product for comparison ([8 x P] x [P x 128], rows of B contiguous). With the roles
 * swapped, the cache as the left-hand operand (the GEMM packs its right-hand one on every call):
 * - keysA: K [P x 128] as uint8 codes around 128 times q^T [128 x 4] as int8, scores transposed;
 * - keysA_s8: the same with int8 keys (the s8s8 kernel);
 * - valuesA: V^T [128 x P] as uint8 around 128 times the probability codes [P x 8] as int8.
 * MatMulIntegerToFloat (u8 query codes with zero point 64, s8 cache codes), 2 intra-op threads,
 * spinning off, caches of `rows` sequences so the codes come from memory.
 *
 *   npx tsx loadtest/key-layout-probe.ts 2048 1,8
 *   VARIANTS=blocked256,keysA,keysA_s8,values,valuesA npx tsx loadtest/key-layout-probe.ts 8192 1,8
 */
import ort from 'onnxruntime-node';
import { GraphBuilder, MICROSOFT_DOMAIN } from '../src/convert/onnx/graph-builder.js';
import { InlineInitializerStore } from '../src/convert/onnx/initializer-store.js';
import { DataType, encodeModel, valueInfo } from '../src/convert/onnx/proto-factory.js';
import { timeRuns } from './probe-timing.js';

const KV = 8;
const G = 4;
const D = 128;
const P = Number(process.argv[2] ?? 2048);
const rowCounts = (process.argv[3] ?? '1,8').split(',').map(Number);
const variants = (process.env.VARIANTS ?? 'flat,blocked64,blocked256,blocked512,values').split(',');

function build(variant: string): Uint8Array {
  const g = new GraphBuilder(new InlineInitializerStore());
  let out: string;
  if (variant === 'values') {
    const a = g.input(valueInfo('a', DataType.UINT8, ['B', KV, 2 * G, P]));
    const v = g.input(valueInfo('k', DataType.INT8, ['B', KV, P, D]));
    out = g.node('MatMulIntegerToFloat', 'mm', [a, v, g.float32(1), g.float32(1)], { domain: MICROSOFT_DOMAIN })[0];
  } else if (variant === 'keysA' || variant === 'keysA_s8') {
    // The cache as the left-hand operand: scores^T [P x 4] = K [P x 128] q^T [128 x 4].
    const signed = variant === 'keysA_s8';
    const k = g.input(valueInfo('k', signed ? DataType.INT8 : DataType.UINT8, ['B', KV, P, D]));
    const q = g.input(valueInfo('a', DataType.INT8, ['B', KV, D, G]));
    const zero = signed ? [] : [g.uint8(128)];
    out = g.node('MatMulIntegerToFloat', 'mm', [k, q, g.float32(1), g.float32(1), ...zero], { domain: MICROSOFT_DOMAIN })[0];
  } else if (variant === 'valuesA') {
    // out^T [128 x 8] = V^T [128 x P] p^T [P x 8], values stored transposed as uint8 around 128.
    const v = g.input(valueInfo('k', DataType.UINT8, ['B', KV, D, P]));
    const a = g.input(valueInfo('a', DataType.INT8, ['B', KV, P, 2 * G]));
    out = g.node('MatMulIntegerToFloat', 'mm', [v, a, g.float32(1), g.float32(1), g.uint8(128)], { domain: MICROSOFT_DOMAIN })[0];
  } else if (variant === 'flat') {
    const a = g.input(valueInfo('a', DataType.UINT8, ['B', KV, G, D]));
    const k = g.input(valueInfo('k', DataType.INT8, ['B', KV, D, P]));
    out = g.node('MatMulIntegerToFloat', 'mm', [a, k, g.float32(1), g.float32(1), g.uint8(64)], { domain: MICROSOFT_DOMAIN })[0];
  } else {
    const n = Number(variant.slice('blocked'.length));
    const a = g.input(valueInfo('a', DataType.UINT8, ['B', KV, 1, G, D]));
    const k = g.input(valueInfo('k', DataType.INT8, ['B', KV, P / n, D, n]));
    out = g.node('MatMulIntegerToFloat', 'mm', [a, k, g.float32(1), g.float32(1), g.uint8(64)], { domain: MICROSOFT_DOMAIN })[0];
  }
  g.node('Identity', 'out', [out], { outputs: ['y'] });
  g.output(valueInfo('y', DataType.FLOAT, variant.startsWith('blocked') ? ['d0', 'd1', 'd2', 'd3', 'd4'] : ['d0', 'd1', 'd2', 'd3']));
  return encodeModel(g.toModel('probe', {}));
}

function feeds(variant: string, rows: number): Record<string, ort.Tensor> {
  const cache = new Int8Array(rows * KV * P * D).map((_, i) => ((i * 37) % 127) - 63);
  if (variant === 'values') {
    return {
      a: new ort.Tensor('uint8', new Uint8Array(rows * KV * 2 * G * P).map((_, i) => (i * 13) % 128), [rows, KV, 2 * G, P]),
      k: new ort.Tensor('int8', cache, [rows, KV, P, D]),
    };
  }
  if (variant === 'keysA' || variant === 'keysA_s8') {
    const q = new Int8Array(rows * KV * D * G).map((_, i) => ((i * 13) % 127) - 63);
    const k = variant === 'keysA' ? new ort.Tensor('uint8', new Uint8Array(cache.buffer).map((c) => (c + 128) & 255), [rows, KV, P, D]) : new ort.Tensor('int8', cache, [rows, KV, P, D]);
    return { k, a: new ort.Tensor('int8', q, [rows, KV, D, G]) };
  }
  if (variant === 'valuesA') {
    const p = new Int8Array(rows * KV * P * 2 * G).map((_, i) => (i * 13) % 64);
    return { k: new ort.Tensor('uint8', new Uint8Array(cache.buffer).map((c) => (c + 128) & 255), [rows, KV, D, P]), a: new ort.Tensor('int8', p, [rows, KV, P, 2 * G]) };
  }
  const a = new Uint8Array(rows * KV * G * D).map((_, i) => 1 + ((i * 13) % 127));
  if (variant === 'flat') return { a: new ort.Tensor('uint8', a, [rows, KV, G, D]), k: new ort.Tensor('int8', cache, [rows, KV, D, P]) };
  const n = Number(variant.slice('blocked'.length));
  return { a: new ort.Tensor('uint8', a, [rows, KV, 1, G, D]), k: new ort.Tensor('int8', cache, [rows, KV, P / n, D, n]) };
}

for (const rows of rowCounts) {
  const line: string[] = [];
  for (const variant of variants) {
    const session = await ort.InferenceSession.create(build(variant), { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', extra: { session: { 'intra_op.allow_spinning': '0' } } });
    // Several copies of the cache, used in turn, so that no run finds its codes in the last-level cache.
    const copies = Array.from({ length: Math.max(2, Math.ceil((64 << 20) / (rows * KV * P * D))) }, () => feeds(variant, rows));
    for (const f of copies) await session.run(f);
    const { medianMs: ms } = await timeRuns(21, (i) => session.run(copies[i % copies.length]));
    line.push(`${variant} ${ms.toFixed(3)} ms (${((rows * KV * P * D) / ms / 1e6).toFixed(1)} GB/s)`);
    await session.release();
  }
  console.log(`P=${P} rows=${rows}: ${line.join('  ')}`);
}
