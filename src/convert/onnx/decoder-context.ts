import type { Qwen3Shape } from '../shape.js';
import type { WeightSource, WeightTensor } from '../weights/weight-source.js';
import { dequantizeBlockwise, quantizeBlockwise } from './block-quantizer.js';
import type { GraphBuilder } from './graph-builder.js';
import { bytesOf } from './initializer-store.js';
import { addProjection, type WeightFormat } from './projection.js';
import { DataType } from './proto-factory.js';
import { addRowInt8Projection, addRowQuantization, type QuantizedActivation } from './row-int8-projection.js';

/**
 * How the decoder layers' linear layers compute:
 * - 'weight-format': in the stored WeightFormat (MatMulNBits for int4/int8, MatMul for fp32);
 * - 'int8-rows': integer products over per-row quantized activations and 7-bit per-column
 *   weights (row-int8-projection.ts), for the graph that runs prefill chunks. The 7-bit weights are
 *   taken from the stored format's rounded values, not the checkpoint's, so both graphs compute
 *   one model (the int4 one, for an int4 export) up to the 7-bit and activation rounding.
 */
export type ProjectionKernel = 'weight-format' | 'int8-rows';

/** Called after each checkpoint tensor has been written: `done` of `total` tensors. */
export type TensorProgress = (done: number, total: number, name: string) => void;

/**
 * What every part of the decoder graph writer needs: the graph under construction, the model's
 * shape and weight format, and the checkpoint, read one tensor at a time through `withWeight` so
 * each tensor is dropped (and progress reported) as soon as it is written.
 */
export class DecoderContext {
  private done = 0;
  /** Row-quantized activations by input name: q/k/v (and gate/up) share one quantization. */
  private readonly quantizedInputs = new Map<string, QuantizedActivation>();

  constructor(
    readonly g: GraphBuilder,
    readonly shape: Qwen3Shape,
    readonly format: WeightFormat,
    private readonly source: WeightSource,
    private readonly totalTensors: number,
    private readonly onProgress: TensorProgress = () => {},
    readonly kernel: ProjectionKernel = 'weight-format',
  ) {}

  /** A decoder layer's linear layer y = x @ W^T over checkpoint weight `weightName`, in this graph's kernel. */
  project(nodePath: string, input: string, weightName: string): string {
    return this.withWeight(weightName, (w) =>
      this.kernel === 'int8-rows'
        ? addRowInt8Projection(this.g, nodePath, this.rowQuantized(nodePath, input), this.asStored(w))
        : addProjection(this.g, nodePath, input, w, this.format),
    );
  }

  withWeight<T>(name: string, use: (tensor: WeightTensor) => T): T {
    const result = use(this.source.get(name));
    this.done++;
    this.onProgress(this.done, this.totalTensors, name);
    return result;
  }

  /**
   * The weight as the main graph stores it (block-rounded for int4/int8), so that a graph with
   * another kernel computes the same model: what it prefills, the main graph's decode steps read.
   */
  private asStored(weight: WeightTensor): WeightTensor {
    const { bits, blockSize } = this.format;
    if (bits === 32) return weight;
    const [n, k] = weight.dims;
    return { dims: weight.dims, data: dequantizeBlockwise(quantizeBlockwise(weight.data, n, k, bits, blockSize)) };
  }

  private rowQuantized(consumerPath: string, input: string): QuantizedActivation {
    let quantized = this.quantizedInputs.get(input);
    if (!quantized) {
      quantized = addRowQuantization(this.g, `${consumerPath}/input_quantization`, input);
      this.quantizedInputs.set(input, quantized);
    }
    return quantized;
  }

  /** Stores a norm weight [n] as an fp32 initializer under its Hugging Face name. */
  normWeight(name: string): string {
    return this.withWeight(name, (tensor) => this.g.initializer(name, DataType.FLOAT, tensor.dims, bytesOf(tensor.data)));
  }
}
