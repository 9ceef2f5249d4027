import { closeSync, openSync, writeSync } from 'node:fs';
import { alignUp, GGML_TYPES, ggmlRowBytes, GGUF_ALIGNMENT, GGUF_MAGIC, GGUF_VERSION, type GgmlTypeName } from './gguf-format.js';
import { ByteSink, type GgufMetadata, writeMetadataEntry } from './gguf-metadata.js';

/** A tensor as the file's header describes it, before its data exists. */
export interface GgufTensorPlan {
  name: string;
  /**
   * Dims in ggml order: ne[0] varies fastest. A row-major [out, in] matrix (PyTorch's Linear
   * weight) is ne = [in, out]; its rows of `in` values are what quantization blocks run along.
   */
  ne: number[];
  type: GgmlTypeName;
}

/**
 * Produces one tensor's data, in order, through `write` (any number of calls, e.g. a chunk of
 * rows at a time); the bytes must add up to the tensor's size in its type.
 */
export type TensorDataProducer = (tensor: GgufTensorPlan, write: (bytes: Uint8Array) => void) => void;

/** Bytes of a tensor's data in its type (rows of ne[0] values, whole blocks each). */
export function tensorDataBytes(tensor: GgufTensorPlan): number {
  const rows = tensor.ne.slice(1).reduce((a, b) => a * b, 1);
  return ggmlRowBytes(tensor.type, tensor.ne[0]) * rows;
}

/**
 * Writes a GGUF v3 file: header, metadata, tensor infos, padding to the alignment, then each
 * tensor's data padded to the alignment. Every size is known from the plans, so the header (with
 * each tensor's offset) is written first and the data is streamed after it: only one tensor's
 * chunk is ever in memory, which keeps a multi-GB model's export within a few hundred MB.
 * Returns the file's size in bytes.
 */
export function writeGgufFile(path: string, metadata: GgufMetadata, tensors: GgufTensorPlan[], produce: TensorDataProducer): number {
  checkPlans(metadata, tensors);
  const header = encodeHeader(metadata, tensors);
  const fd = openSync(path, 'w');
  try {
    let position = writeAll(fd, header, 0);
    for (const tensor of tensors) {
      const expected = tensorDataBytes(tensor);
      const start = position;
      produce(tensor, (bytes) => {
        if (position - start + bytes.length > expected) throw new Error(`tensor ${tensor.name}: more than its ${expected} bytes of data`);
        position = writeAll(fd, bytes, position);
      });
      if (position - start !== expected) throw new Error(`tensor ${tensor.name}: ${position - start} bytes of data written, ${expected} expected`);
      position = writeAll(fd, new Uint8Array(alignUp(position) - position), position);
    }
    return position;
  } finally {
    closeSync(fd);
  }
}

function checkPlans(metadata: GgufMetadata, tensors: GgufTensorPlan[]): void {
  const keys = new Set<string>();
  for (const [key] of metadata) {
    if (keys.has(key)) throw new Error(`metadata key ${key} given twice`);
    keys.add(key);
  }
  const names = new Set<string>();
  for (const tensor of tensors) {
    if (names.has(tensor.name)) throw new Error(`tensor ${tensor.name} given twice`);
    names.add(tensor.name);
    if (tensor.ne.length === 0 || tensor.ne.length > 4 || tensor.ne.some((n) => !Number.isSafeInteger(n) || n <= 0)) {
      throw new RangeError(`tensor ${tensor.name}: dims [${tensor.ne}] are not 1-4 positive integers`);
    }
    tensorDataBytes(tensor); // throws when a row is not whole blocks
  }
}

/** Everything before the tensor data, padded so the data section starts aligned. */
function encodeHeader(metadata: GgufMetadata, tensors: GgufTensorPlan[]): Uint8Array {
  const sink = new ByteSink();
  sink.uint32(GGUF_MAGIC);
  sink.uint32(GGUF_VERSION);
  sink.uint64(tensors.length);
  sink.uint64(metadata.length);
  for (const [key, value] of metadata) writeMetadataEntry(sink, key, value);
  // Offsets are relative to the start of the data section, each aligned.
  let offset = 0;
  for (const tensor of tensors) {
    sink.string(tensor.name);
    sink.uint32(tensor.ne.length);
    for (const n of tensor.ne) sink.uint64(n);
    sink.uint32(GGML_TYPES[tensor.type].id);
    sink.uint64(offset);
    offset = alignUp(offset + tensorDataBytes(tensor));
  }
  sink.zeros(alignUp(sink.length, GGUF_ALIGNMENT) - sink.length);
  return sink.contents();
}

/** writeSync until every byte is down (it may write less than asked); returns the new position. */
function writeAll(fd: number, bytes: Uint8Array, position: number): number {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
  return position + bytes.length;
}
