import { closeSync, openSync, writeSync } from 'node:fs';
import { DataType, externalTensor, inlineTensor, type TensorProto } from './proto-factory.js';

/**
 * Where the bytes of a graph's initializers go. Tensors arrive one at a time, already encoded
 * (little-endian raw data, the layout ONNX `raw_data` and external data both use); the store
 * returns the TensorProto that names them. Callers drop the bytes after `add`, so a store that
 * writes to disk keeps nothing of a 4B model in memory.
 */
export interface InitializerStore {
  add(name: string, dataType: DataType, dims: number[], bytes: Uint8Array): TensorProto;
  /** Flushes and closes any file; the store is unusable afterwards. */
  close(): void;
}

/** Keeps every tensor inside model.onnx (protobuf caps that file at 2 GiB: small models only). */
export class InlineInitializerStore implements InitializerStore {
  add(name: string, dataType: DataType, dims: number[], bytes: Uint8Array): TensorProto {
    return inlineTensor(name, dataType, dims, bytes);
  }

  close(): void {}
}

/**
 * Streams tensors of at least `minExternalBytes` into one external data file beside the model
 * (`location` is its name relative to model.onnx); smaller ones (norm weights, shape constants)
 * stay inline, as onnx's own external-data converter does. Each external tensor starts on an
 * `ALIGNMENT` boundary so onnxruntime can memory-map it without copying.
 */
export class ExternalDataStore implements InitializerStore {
  static readonly ALIGNMENT = 4096;
  private readonly fd: number;
  private offset = 0;
  private open = true;

  constructor(
    dataPath: string,
    private readonly location: string,
    private readonly minExternalBytes = 1024,
  ) {
    this.fd = openSync(dataPath, 'w');
  }

  /** Bytes written to the data file so far. */
  get size(): number {
    return this.offset;
  }

  add(name: string, dataType: DataType, dims: number[], bytes: Uint8Array): TensorProto {
    if (!this.open) throw new Error('external data store is closed');
    if (bytes.length < this.minExternalBytes) return inlineTensor(name, dataType, dims, bytes);
    const padding = (ExternalDataStore.ALIGNMENT - (this.offset % ExternalDataStore.ALIGNMENT)) % ExternalDataStore.ALIGNMENT;
    if (padding > 0) this.writeAll(new Uint8Array(padding));
    const start = this.offset;
    this.writeAll(bytes);
    return externalTensor(name, dataType, dims, this.location, start, bytes.length);
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    closeSync(this.fd);
  }

  /** writeSync may write less than asked (large buffers): loop until all bytes are out. */
  private writeAll(bytes: Uint8Array): void {
    let written = 0;
    while (written < bytes.length) {
      written += writeSync(this.fd, bytes, written, bytes.length - written);
    }
    this.offset += bytes.length;
  }
}

/** The raw little-endian bytes of a typed array, without copying. */
export function bytesOf(array: Float32Array | Uint8Array | BigInt64Array | Int32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}
