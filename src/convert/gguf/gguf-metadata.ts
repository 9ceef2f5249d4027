import { GgufValueType } from './gguf-format.js';

/** One metadata value, tagged with the GGUF type it is written as. */
export type GgufValue =
  | { type: 'uint32'; value: number }
  | { type: 'float32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string[]'; value: readonly string[] }
  | { type: 'int32[]'; value: ArrayLike<number> };

/** Metadata in the order it is written: key, value. Keys are unique. */
export type GgufMetadata = [key: string, value: GgufValue][];

export const u32 = (value: number): GgufValue => ({ type: 'uint32', value });
export const f32 = (value: number): GgufValue => ({ type: 'float32', value });
export const bool = (value: boolean): GgufValue => ({ type: 'bool', value });
export const str = (value: string): GgufValue => ({ type: 'string', value });

/**
 * A growable little-endian byte buffer for the file's header: magic, counts, metadata and tensor
 * infos. The header of a Qwen3 file is a few MB (the 151936 tokens and 151387 merges), small
 * enough to assemble in memory before the tensor data is streamed after it.
 */
export class ByteSink {
  private bytes = new Uint8Array(1 << 16);
  private view = new DataView(this.bytes.buffer);
  private used = 0;

  get length(): number {
    return this.used;
  }

  uint32(value: number): void {
    this.reserve(4).setUint32(this.used - 4, value, true);
  }

  int32(value: number): void {
    this.reserve(4).setInt32(this.used - 4, value, true);
  }

  uint64(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a uint64: ${value}`);
    this.reserve(8).setBigUint64(this.used - 8, BigInt(value), true);
  }

  float32(value: number): void {
    this.reserve(4).setFloat32(this.used - 4, value, true);
  }

  uint8(value: number): void {
    this.reserve(1).setUint8(this.used - 1, value);
  }

  /** A GGUF string: uint64 byte length, then UTF-8 bytes, no terminator. */
  string(value: string): void {
    const encoded = Buffer.from(value, 'utf8');
    this.uint64(encoded.length);
    this.reserve(encoded.length);
    this.bytes.set(encoded, this.used - encoded.length);
  }

  zeros(count: number): void {
    this.reserve(count);
    this.bytes.fill(0, this.used - count, this.used);
  }

  /** The bytes written so far (a view, valid until the next write). */
  contents(): Uint8Array {
    return this.bytes.subarray(0, this.used);
  }

  /** Makes room for `count` more bytes and counts them as written; returns the (maybe new) view. */
  private reserve(count: number): DataView {
    if (this.used + count > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.used + count));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    this.used += count;
    return this.view;
  }
}

/** Writes one key/value pair: key string, value type tag, value (arrays: element type, count, elements). */
export function writeMetadataEntry(sink: ByteSink, key: string, entry: GgufValue): void {
  sink.string(key);
  switch (entry.type) {
    case 'uint32':
      sink.uint32(GgufValueType.UINT32);
      sink.uint32(entry.value);
      return;
    case 'float32':
      sink.uint32(GgufValueType.FLOAT32);
      sink.float32(entry.value);
      return;
    case 'bool':
      sink.uint32(GgufValueType.BOOL);
      sink.uint8(entry.value ? 1 : 0);
      return;
    case 'string':
      sink.uint32(GgufValueType.STRING);
      sink.string(entry.value);
      return;
    case 'string[]':
      sink.uint32(GgufValueType.ARRAY);
      sink.uint32(GgufValueType.STRING);
      sink.uint64(entry.value.length);
      for (const item of entry.value) sink.string(item);
      return;
    case 'int32[]':
      sink.uint32(GgufValueType.ARRAY);
      sink.uint32(GgufValueType.INT32);
      sink.uint64(entry.value.length);
      for (let i = 0; i < entry.value.length; i++) sink.int32(entry.value[i]);
      return;
  }
}
