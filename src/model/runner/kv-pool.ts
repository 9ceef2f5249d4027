import ort from 'onnxruntime-node';
import type { FloatType } from './session-io.js';

export interface KvPoolShape {
  numLayers: number;
  kvHeads: number;
  headDim: number;
  kvType: FloatType;
  /** Slot rows: the most sequences that can hold a KV cache at once. */
  maxSeqs: number;
  /** Positions per row: the longest sequence (prompt + output) a row can hold. */
  maxLen: number;
}

type KvArray = Float32Array | Uint16Array;

/** The past/present tensors of every layer for one contiguous run of rows. */
export interface KvView {
  keys: ort.Tensor[];
  values: ort.Tensor[];
}

/**
 * The KV cache of every running sequence: per layer, one key and one value buffer shaped
 * [maxSeqs, kvHeads, maxLen, headDim], a row per sequence. GroupQueryAttention reads and writes
 * these in place (the same tensor is fed as past and fetched as present), so a step copies nothing.
 *
 * Rows are plain memory: a run of consecutive rows is a zero-copy view, which is why the engine
 * keeps decoding rows packed at the front. The buffers are allocated zero-filled and never cleared
 * or touched beyond a row's valid length, so the operating system only commits pages a sequence
 * has actually written: resident memory follows tokens held, not maxSeqs * maxLen.
 */
export class KvPool {
  readonly shape: KvPoolShape;
  /** Bytes of KV one token occupies across all layers (keys and values). */
  readonly bytesPerToken: number;
  private readonly keys: KvArray[];
  private readonly values: KvArray[];
  /** Elements in one row: kvHeads * maxLen * headDim. */
  private readonly rowElements: number;

  constructor(shape: KvPoolShape) {
    this.shape = shape;
    const elementBytes = shape.kvType === 'float16' ? 2 : 4;
    this.bytesPerToken = shape.numLayers * 2 * shape.kvHeads * shape.headDim * elementBytes;
    this.rowElements = shape.kvHeads * shape.maxLen * shape.headDim;
    const make = () => (shape.kvType === 'float16' ? new Uint16Array(this.rowElements * shape.maxSeqs) : new Float32Array(this.rowElements * shape.maxSeqs));
    this.keys = Array.from({ length: shape.numLayers }, make);
    this.values = Array.from({ length: shape.numLayers }, make);
  }

  /** Address space reserved for the buffers (resident memory is lower; see the class comment). */
  get reservedBytes(): number {
    return this.bytesPerToken * this.shape.maxSeqs * this.shape.maxLen;
  }

  /** Tensors over rows [firstRow, firstRow + count), each [count, kvHeads, maxLen, headDim]. */
  view(firstRow: number, count: number): KvView {
    if (count < 1 || firstRow < 0 || firstRow + count > this.shape.maxSeqs) {
      throw new RangeError(`rows [${firstRow}, ${firstRow + count}) are outside the pool of ${this.shape.maxSeqs}`);
    }
    const begin = firstRow * this.rowElements;
    const end = begin + count * this.rowElements;
    const dims = [count, this.shape.kvHeads, this.shape.maxLen, this.shape.headDim];
    const tensor = (buffer: KvArray) => new ort.Tensor(this.shape.kvType, buffer.subarray(begin, end), dims);
    return { keys: this.keys.map(tensor), values: this.values.map(tensor) };
  }

  /**
   * Copies the first `length` positions of row `from` into row `to` in every layer and head; the
   * engine uses it to keep live rows packed. Positions past `length` are left as they are: they are
   * masked out and will be overwritten before they are read.
   */
  copyRow(from: number, to: number, length: number): void {
    if (from === to || length === 0) return;
    const { kvHeads, maxLen, headDim } = this.shape;
    const span = length * headDim;
    for (const buffers of [this.keys, this.values]) {
      for (const buffer of buffers) {
        for (let h = 0; h < kvHeads; h++) {
          const src = (from * kvHeads + h) * maxLen * headDim;
          const dst = (to * kvHeads + h) * maxLen * headDim;
          buffer.copyWithin(dst, src, src + span);
        }
      }
    }
  }

  /** Exchanges the valid positions of two rows (the longer length is swapped for both). */
  swapRows(a: number, b: number, length: number): void {
    if (a === b || length === 0) return;
    const { kvHeads, maxLen, headDim } = this.shape;
    const span = length * headDim;
    for (const buffers of [this.keys, this.values]) {
      for (const buffer of buffers) {
        for (let h = 0; h < kvHeads; h++) {
          const offsetA = (a * kvHeads + h) * maxLen * headDim;
          const offsetB = (b * kvHeads + h) * maxLen * headDim;
          const saved = buffer.slice(offsetA, offsetA + span);
          buffer.copyWithin(offsetA, offsetB, offsetB + span);
          buffer.set(saved, offsetB);
        }
      }
    }
  }
}
