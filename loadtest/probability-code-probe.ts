/**
 * Times the coding of attention probabilities into two 7-bit uint8 code rows (the int8 KV cache's
 * value product, src/convert/onnx/int8-cache-attention.ts) for a decode step's shape, [rows, 8 KV
 * heads, 4 query rows, P], and counts the codes in which each form differs from the first:
 * - floor: x = w * f; hi = Floor(x / 128), lo = x - 128 hi, joined as float and cast (the form
 *   before addProbabilityCodes);
 * - mod: hi = Cast(x / 128), lo = Cast(Mod(x, 128)), joined as uint8;
 * - floorU8: floor's hi and lo, each cast before they are joined;
 * - frac: y = w * (f / 128); hi = Floor(y), lo = (y - hi) * 128, each cast, joined as uint8 (the
 *   form addProbabilityCodes builds).
 * 2 intra-op threads, spinning off; median of 21 runs after 5 warm-up runs, every form timed in two
 * rounds (the first session of a process pays for growing the heap: read the second round).
 *
 *   npx tsx loadtest/probability-code-probe.ts 8192 1,8
 */
import ort from 'onnxruntime-node';
import { GraphBuilder } from '../src/convert/onnx/graph-builder.js';
import { InlineInitializerStore } from '../src/convert/onnx/initializer-store.js';
import { DataType, encodeModel, valueInfo } from '../src/convert/onnx/proto-factory.js';
import { timeRuns } from './probe-timing.js';

const KV = 8;
const G = 4;
const LO = 128;
const P = Number(process.argv[2] ?? 8192);
const rowCounts = (process.argv[3] ?? '1,8').split(',').map(Number);
const variants = (process.env.VARIANTS ?? 'floor,mod,floorU8,frac').split(',');

function build(variant: string): Uint8Array {
  const g = new GraphBuilder(new InlineInitializerStore());
  const w = g.input(valueInfo('w', DataType.FLOAT, ['B', KV, G, P]));
  const f = g.input(valueInfo('f', DataType.FLOAT, ['B', KV, G, 1]));
  const u8 = (x: string, name: string) => g.op('Cast', name, [x], { to: DataType.UINT8 });
  let codes: string;
  if (variant === 'frac') {
    const y = g.op('Mul', 'y', [w, g.op('Mul', 'f128', [f, g.float32(1 / LO)])]);
    const hi = g.op('Floor', 'hi', [y]);
    codes = g.op('Concat', 'codes', [u8(hi, 'hi8'), u8(g.op('Mul', 'lo', [g.op('Sub', 'frac', [y, hi]), g.float32(LO)]), 'lo8')], { axis: -2 });
  } else {
    const x = g.op('Mul', 'x', [w, f]);
    if (variant === 'mod') {
      codes = g.op('Concat', 'codes', [u8(g.op('Mul', 'hi', [x, g.float32(1 / LO)]), 'hi8'), u8(g.op('Mod', 'lo', [x, g.float32(LO)], { fmod: 1 }), 'lo8')], { axis: -2 });
    } else {
      const hi = g.op('Floor', 'hi', [g.op('Mul', 'hiMul', [x, g.float32(1 / LO)])]);
      const lo = g.op('Sub', 'lo', [x, g.op('Mul', 'loMul', [hi, g.float32(LO)])]);
      codes = variant === 'floor' ? u8(g.op('Concat', 'codesF', [hi, lo], { axis: -2 }), 'codes') : g.op('Concat', 'codes', [u8(hi, 'hi8'), u8(lo, 'lo8')], { axis: -2 });
    }
  }
  g.node('Identity', 'out', [codes], { outputs: ['y'] });
  g.output(valueInfo('y', DataType.UINT8, ['B', KV, 2 * G, P]));
  return encodeModel(g.toModel('probe', {}));
}

/** Softmax-like rows times their factor 16383 / max: one dominant position, many small ones. */
function feeds(rows: number, seed: number): Record<string, ort.Tensor> {
  const w = new Float32Array(rows * KV * G * P);
  const f = new Float32Array(rows * KV * G);
  let state = seed * 7919 + 1;
  const random = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let r = 0; r < f.length; r++) {
    let max = 0;
    for (let p = 0; p < P; p++) {
      const v = p === 0 ? 0.4 : Math.exp(-8 * random()) / P;
      w[r * P + p] = v;
      max = Math.max(max, v);
    }
    f[r] = 16383 / max;
  }
  return { w: new ort.Tensor('float32', w, [rows, KV, G, P]), f: new ort.Tensor('float32', f, [rows, KV, G, 1]) };
}

const sessions = new Map<string, ort.InferenceSession>();
for (const variant of variants) {
  sessions.set(variant, await ort.InferenceSession.create(build(variant), { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', extra: { session: { 'intra_op.allow_spinning': '0' } } }));
}
for (const rows of rowCounts) {
  const copies = [feeds(rows, 1), feeds(rows, 2), feeds(rows, 3)];
  let reference: Uint8Array | undefined;
  for (const round of [1, 2]) {
    const line: string[] = [];
    for (const [variant, session] of sessions) {
      const codes = (await session.run(copies[0])).y.data as Uint8Array;
      reference ??= codes;
      let differing = 0;
      for (let i = 0; i < codes.length; i++) if (codes[i] !== reference[i]) differing++;
      for (let i = 0; i < 5; i++) await session.run(copies[i % copies.length]);
      const { medianMs } = await timeRuns(21, (i) => session.run(copies[i % copies.length]));
      line.push(`${variant} ${medianMs.toFixed(3)} ms (${differing} codes differ)`);
    }
    console.log(`P=${P} rows=${rows} round ${round}: ${line.join('  ')}`);
  }
}
for (const session of sessions.values()) await session.release();
