import type { Qwen3Shape } from '../shape.js';
import type { WeightSource, WeightTensor } from '../weights/weight-source.js';
import type { GraphBuilder } from './graph-builder.js';
import type { WeightFormat } from './projection.js';
import { bytesOf } from './initializer-store.js';
import { DataType } from './proto-factory.js';

/** Called after each checkpoint tensor has been written: `done` of `total` tensors. */
export type TensorProgress = (done: number, total: number, name: string) => void;

/**
 * What every part of the decoder graph writer needs: the graph under construction, the model's
 * shape and weight format, and the checkpoint, read one tensor at a time through `withWeight` so
 * each tensor is dropped (and progress reported) as soon as it is written.
 */
export class DecoderContext {
  private done = 0;

  constructor(
    readonly g: GraphBuilder,
    readonly shape: Qwen3Shape,
    readonly format: WeightFormat,
    private readonly source: WeightSource,
    private readonly totalTensors: number,
    private readonly onProgress: TensorProgress = () => {},
  ) {}

  withWeight<T>(name: string, use: (tensor: WeightTensor) => T): T {
    const result = use(this.source.get(name));
    this.done++;
    this.onProgress(this.done, this.totalTensors, name);
    return result;
  }

  /** Stores a norm weight [n] as an fp32 initializer under its Hugging Face name. */
  normWeight(name: string): string {
    return this.withWeight(name, (tensor) => this.g.initializer(name, DataType.FLOAT, tensor.dims, bytesOf(tensor.data)));
  }
}
