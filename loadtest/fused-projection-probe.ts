/**
 * Whether one MatMulNBits over concatenated weights beats separate ones: a decode step's q/k/v
 * projections (2560 -> 4096 + 1024 + 1024) and gate/up (2560 -> 2 x 9728), qwen3-4b's shapes, as
 * `separate` (one MatMulNBits each, as the export writes them) or `fused` (one MatMulNBits over the
 * rows of all, then Split). Each of `--layers` layers has weights of its own, so the step streams
 * them from memory as a model's decode step does (a single matrix would sit in the L3 cache).
 * int4 block 128, accuracy level 4, 2 intra-op threads spinning within a run; median of the timed
 * runs, the two variants alternated.
 *
 *   npx tsx loadtest/fused-projection-probe.ts --layers 12 --rows 1,8 --runs 15
 */
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { quantizeBlockwise } from '../src/convert/onnx/block-quantizer.js';
import { GraphBuilder, MICROSOFT_DOMAIN } from '../src/convert/onnx/graph-builder.js';
import { bytesOf, InlineInitializerStore } from '../src/convert/onnx/initializer-store.js';
import { DataType, encodeModel, valueInfo } from '../src/convert/onnx/proto-factory.js';

const { values: flags } = parseArgs({
  options: {
    layers: { type: 'string', default: '12' },
    rows: { type: 'string', default: '1,8' },
    runs: { type: 'string', default: '15' },
  },
});
const layers = Number(flags.layers);
const rowCounts = flags.rows.split(',').map(Number);
const runs = Number(flags.runs);
const K = 2560;
const GROUPS = { qkv: [4096, 1024, 1024], gateUp: [9728, 9728] };
const BLOCK = 128;

/** Quantized int4 weights of `n` rows (the same values for every layer: only the bytes' addresses matter here). */
function quantized(n: number): { packed: Uint8Array; scales: Uint8Array } {
  const w = new Float32Array(n * K);
  for (let i = 0; i < w.length; i++) w[i] = Math.sin(i * 12.9898) * 0.05;
  const q = quantizeBlockwise(w, n, K, 4, BLOCK);
  return { packed: q.packed, scales: bytesOf(q.scales) };
}
const weights = Object.fromEntries(
  Object.entries(GROUPS).map(([group, widths]) => [group, { parts: widths.map(quantized), whole: quantized(widths.reduce((a, b) => a + b)) }]),
);

function build(variant: 'separate' | 'fused'): Uint8Array {
  const g = new GraphBuilder(new InlineInitializerStore());
  const x = g.input(valueInfo('x', DataType.FLOAT, ['M', K]));
  const matMul = (name: string, n: number, w: { packed: Uint8Array; scales: Uint8Array }, output?: string): string => {
    const packed = g.initializer(`${name}.q`, DataType.UINT8, [n, K / BLOCK, BLOCK / 2], w.packed.slice());
    const scales = g.initializer(`${name}.s`, DataType.FLOAT, [n, K / BLOCK], w.scales.slice());
    const attributes = { K, N: n, bits: 4, block_size: BLOCK, accuracy_level: 4 };
    return g.node('MatMulNBits', name, [x, packed, scales], { outputs: output ? [output] : 1, attributes, domain: MICROSOFT_DOMAIN })[0];
  };
  const outputs: Array<[string, number]> = [];
  for (let l = 0; l < layers; l++) {
    for (const [group, widths] of Object.entries(GROUPS)) {
      const names = widths.map((_, i) => `l${l}.${group}.${i}`);
      if (variant === 'separate') {
        widths.forEach((n, i) => matMul(names[i], n, weights[group].parts[i], names[i]));
      } else {
        const total = widths.reduce((a, b) => a + b);
        const fused = matMul(`l${l}.${group}`, total, weights[group].whole);
        g.node('Split', `l${l}.${group}.split`, [fused, g.int64(widths)], { outputs: names, attributes: { axis: -1 } });
      }
      widths.forEach((n, i) => outputs.push([names[i], n]));
    }
  }
  for (const [name, n] of outputs) g.output(valueInfo(name, DataType.FLOAT, ['M', n]));
  return encodeModel(g.toModel('fused-projection-probe', {}));
}

const options: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 2,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  extra: { session: { force_spinning_stop: '1' } },
};
const sessions = { separate: await ort.InferenceSession.create(build('separate'), options), fused: await ort.InferenceSession.create(build('fused'), options) };
for (const rows of rowCounts) {
  const x = new Float32Array(rows * K).map((_, i) => Math.cos(i * 0.37));
  const feeds = { x: new ort.Tensor('float32', x, [rows, K]) };
  const times: Record<string, number[]> = { separate: [], fused: [] };
  for (const session of Object.values(sessions)) await session.run(feeds);
  for (let run = 0; run < runs; run++) {
    for (const [variant, session] of Object.entries(sessions)) {
      const started = performance.now();
      await session.run(feeds);
      times[variant].push(performance.now() - started);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
  console.log(JSON.stringify({ layers, rows, runs, separateMs: Number(median(times.separate).toFixed(2)), fusedMs: Number(median(times.fused).toFixed(2)), separateMinMs: Number(Math.min(...times.separate).toFixed(2)), fusedMinMs: Number(Math.min(...times.fused).toFixed(2)) }));
}
await Promise.all(Object.values(sessions).map((session) => session.release()));
