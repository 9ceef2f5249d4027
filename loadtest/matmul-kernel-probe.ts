/**
 * Times one linear layer y = x @ W^T [M, K] x [K, N] in the kernels a graph can use for it, at
 * several row counts M, with 2 intra-op threads and spinning off:
 * - nbits4 / nbits8: MatMulNBits (block 128, accuracy level 4), the main graph's projections;
 * - mmi: per-row quantized uint8 activations, MatMulInteger, Cast and two Muls;
 * - mmitf: the same with MatMulIntegerToFloat (the prefill graph's choice, row-int8-projection.ts);
 * - dqmm: DynamicQuantizeMatMul (one activation scale per tensor: not batch invariant; speed only).
 * The weights here use full 8-bit codes (speed is the same at 7 bits).
 *
 *   npx tsx loadtest/matmul-kernel-probe.ts 2560 9728 1,8,64,256,512
 *   VARIANTS=nbits4,mmitf npx tsx loadtest/matmul-kernel-probe.ts 9728 2560
 *
 * A single matrix may sit in the last-level cache, so M = 1 figures overstate what a whole model's
 * decode step gets (that one streams every weight from memory).
 */
import ort from 'onnxruntime-node';
import { GraphBuilder, MICROSOFT_DOMAIN } from '../src/convert/onnx/graph-builder.js';
import { InlineInitializerStore, bytesOf } from '../src/convert/onnx/initializer-store.js';
import { DataType, encodeModel, valueInfo } from '../src/convert/onnx/proto-factory.js';
import { quantizeBlockwise } from '../src/convert/onnx/block-quantizer.js';

const [K, N] = process.argv.slice(2, 4).map(Number);
const Ms = (process.argv[4] ?? '1,8,64,256,512').split(',').map(Number);
const w = new Float32Array(N * K);
for (let i = 0; i < w.length; i++) w[i] = Math.sin(i * 12.9898) * 0.05;

function build(variant: string): Uint8Array {
  const g = new GraphBuilder(new InlineInitializerStore());
  const x = g.input(valueInfo('x', DataType.FLOAT, ['M', K]));
  let y: string;
  if (variant.startsWith('nbits')) {
    const bits = variant === 'nbits4' ? 4 : 8;
    const q = quantizeBlockwise(w, N, K, bits, 128);
    const p = g.initializer('wq', DataType.UINT8, [N, K / 128, (128 * bits) / 8], q.packed);
    const s = g.initializer('ws', DataType.FLOAT, [N, K / 128], bytesOf(q.scales));
    y = g.node('MatMulNBits', 'mm', [x, p, s], { outputs: ['y'], attributes: { K, N, bits, block_size: 128, accuracy_level: Number(process.env.ACCURACY_LEVEL ?? 4) }, domain: MICROSOFT_DOMAIN })[0];
  } else {
    // Per-column int8 weights [K, N].
    const wt = new Int8Array(K * N);
    const ws = new Float32Array(N);
    for (let n = 0; n < N; n++) {
      let m = 0;
      for (let k = 0; k < K; k++) m = Math.max(m, Math.abs(w[n * K + k]));
      ws[n] = m / 127;
      for (let k = 0; k < K; k++) wt[k * N + n] = Math.round(w[n * K + k] / ws[n]);
    }
    const wi = g.initializer('wi', DataType.INT8, [K, N], new Uint8Array(wt.buffer));
    const wsn = g.initializer('wsc', DataType.FLOAT, [N], bytesOf(ws));
    if (variant === 'dqmm') {
      y = g.node('DynamicQuantizeMatMul', 'mm', [x, wi, wsn], { outputs: ['y'], domain: MICROSOFT_DOMAIN })[0];
    } else {
      const abs = g.op('Abs', 'abs', [x]);
      const amax = g.op('ReduceMax', 'rmax', [abs], { axes: [-1], keepdims: 1 });
      const sc = g.op('Max', 'maxs', [g.op('Div', 'div127', [amax, g.float32(127)]), g.float32(1e-30)]);
      const r = g.op('Round', 'round', [g.op('Div', 'divs', [x, sc])]);
      const u = g.op('Cast', 'cast', [g.op('Add', 'add128', [r, g.float32(128)])], { to: DataType.UINT8 });
      const zp = g.initializer('zp', DataType.UINT8, [], Uint8Array.of(128));
      if (variant === 'mmi') {
        const acc = g.op('MatMulInteger', 'mmi', [u, wi, zp]);
        const f = g.op('Cast', 'castf', [acc], { to: DataType.FLOAT });
        y = g.node('Mul', 'mul2', [g.op('Mul', 'mul1', [f, wsn]), sc], { outputs: ['y'] })[0];
      } else {
        const one = g.float32(1);
        const f = g.node('MatMulIntegerToFloat', 'mmitf', [u, wi, one, wsn, zp], { outputs: 1, domain: MICROSOFT_DOMAIN })[0];
        y = g.node('Mul', 'mul2', [f, sc], { outputs: ['y'] })[0];
      }
    }
  }
  g.output(valueInfo('y', DataType.FLOAT, ['M', N]));
  return encodeModel(g.toModel('probe', {}));
}

for (const variant of (process.env.VARIANTS ?? 'nbits4,nbits8,mmi,mmitf,dqmm').split(',')) {
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', extra: { session: { 'intra_op.allow_spinning': '0' } } };
  const session = await ort.InferenceSession.create(build(variant), options);
  const row: string[] = [];
  for (const M of Ms) {
    const x = new Float32Array(M * K);
    for (let i = 0; i < x.length; i++) x[i] = Math.cos(i * 0.37);
    const feeds = { x: new ort.Tensor('float32', x, [M, K]) };
    await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) { const t = performance.now(); await session.run(feeds); times.push(performance.now() - t); }
    times.sort((a, b) => a - b);
    row.push(`M=${M}: ${times[2].toFixed(1)}ms (${((M * K * N * 2) / times[2] / 1e6).toFixed(0)} GF/s)`);
  }
  console.log(variant.padEnd(7), row.join('  '));
  await session.release();
}
