/**
 * What one small operator costs onnxruntime's CPU executor: a chain of N elementwise nodes (Mul,
 * Add, Reshape in turn) over a tensor of one decode step's query shape [1, 8, 4, 128], run with 2
 * intra-op threads, spinning off and on. A decode step of the qwen3-4b export runs about 3,100 nodes,
 * most of them this small; this says how much of a step their count alone costs.
 *
 *   npx tsx loadtest/node-overhead-probe.ts 3000
 *   PROFILE=/tmp/p npx tsx loadtest/node-overhead-probe.ts 3000   # the same with onnxruntime's profiler on
 */
import ort from 'onnxruntime-node';
import { GraphBuilder } from '../src/convert/onnx/graph-builder.js';
import { InlineInitializerStore } from '../src/convert/onnx/initializer-store.js';
import { DataType, encodeModel, valueInfo } from '../src/convert/onnx/proto-factory.js';
import { timeRuns } from './probe-timing.js';

const nodes = Number(process.argv[2] ?? 3000);
const shape = [1, 8, 4, 128];

function build(): Uint8Array {
  const g = new GraphBuilder(new InlineInitializerStore());
  let x = g.input(valueInfo('x', DataType.FLOAT, shape));
  for (let i = 0; i < nodes; i++) {
    if (i % 3 === 0) x = g.op('Mul', `n${i}`, [x, g.float32(1.0001)]);
    else if (i % 3 === 1) x = g.op('Add', `n${i}`, [x, g.float32(0.0001)]);
    else x = g.op('Reshape', `n${i}`, [x, g.int64(i % 2 === 0 ? [1, 8, 512] : shape)]);
  }
  g.node('Identity', 'out', [x], { outputs: ['y'] });
  g.output(valueInfo('y', DataType.FLOAT, shape));
  return encodeModel(g.toModel('probe', {}));
}

const model = build();
const x = new ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b)).fill(1), shape);
for (const spinning of ['0', '1']) {
  const session = await ort.InferenceSession.create(model, { ...(process.env.PROFILE ? { enableProfiling: true, profileFilePrefix: process.env.PROFILE } : {}), intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', extra: { session: { 'intra_op.allow_spinning': spinning } } });
  for (let i = 0; i < 3; i++) await session.run({ x });
  const { medianMs, minMs } = await timeRuns(15, () => session.run({ x }));
  console.log(JSON.stringify({ nodes, spinning: spinning === '1', medianMs: +medianMs.toFixed(2), minMs: +minMs.toFixed(2), usPerNode: +((medianMs * 1000) / nodes).toFixed(2) }));
  await session.release();
}
