/**
 * What one operator costs onnxruntime's CPU executor when its tensor is tiny: a chain of N nodes
 * over a [1, W] float tensor (Mul, then Add, alternating), timed per run and divided by N. A decode
 * step of the qwen3-4b int8-cache export runs about 3,200 nodes (forward-probe --profile), most of
 * them on a few hundred values; this says how much of a step that count alone costs.
 * 2 intra-op threads; spinning as given (default on; `SPIN=0` off, as the server sets it).
 *
 *   npx tsx loadtest/node-overhead-probe.ts 3200 128,4096
 *   SPIN=0 npx tsx loadtest/node-overhead-probe.ts 3200 128,4096
 */
import ort from 'onnxruntime-node';
import { GraphBuilder } from '../src/convert/onnx/graph-builder.js';
import { InlineInitializerStore } from '../src/convert/onnx/initializer-store.js';
import { DataType, encodeModel, valueInfo } from '../src/convert/onnx/proto-factory.js';
import { timeRuns } from './probe-timing.js';

const nodes = Number(process.argv[2] ?? 3200);
const widths = (process.argv[3] ?? '128,4096').split(',').map(Number);
const spin = process.env.SPIN ?? '1';

function build(width: number): Uint8Array {
  const g = new GraphBuilder(new InlineInitializerStore());
  let x = g.input(valueInfo('x', DataType.FLOAT, [1, width]));
  for (let i = 0; i < nodes; i++) x = g.op(i % 2 === 0 ? 'Mul' : 'Add', `n${i}`, [x, g.float32(i % 2 === 0 ? 1.0001 : 0.0001)]);
  g.node('Identity', 'out', [x], { outputs: ['y'] });
  g.output(valueInfo('y', DataType.FLOAT, [1, width]));
  return encodeModel(g.toModel('chain', {}));
}

for (const width of widths) {
  // Optimization level 'basic' would fold the constant chain; 'disabled' keeps every node.
  const session = await ort.InferenceSession.create(build(width), { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'disabled', extra: { session: { 'intra_op.allow_spinning': spin } } });
  const feeds = { x: new ort.Tensor('float32', new Float32Array(width).fill(1), [1, width]) };
  for (let i = 0; i < 5; i++) await session.run(feeds);
  const { medianMs, minMs } = await timeRuns(21, () => session.run(feeds));
  console.log(`${nodes} nodes of [1, ${width}], spinning ${spin}: median ${medianMs.toFixed(2)} ms a run, ${((medianMs * 1000) / nodes).toFixed(2)} us a node (fastest run ${minMs.toFixed(2)} ms)`);
  await session.release();
}
