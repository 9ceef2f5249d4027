import ort from 'onnxruntime-node';
import type { FloatType } from './session-io.js';

/**
 * How the cache is held: float32 or float16 keys and values, or 'int8': int8 codes with one
 * float32 scale per position and head, keys stored transposed, whole or in blocks of positions
 * (see int8-cache-attention.ts).
 */
export type KvCacheType = FloatType | 'int8';

export interface KvPoolShape {
  numLayers: number;
  kvHeads: number;
  headDim: number;
  kvType: KvCacheType;
  /** Slot rows: the most sequences that can hold a KV cache at once. */
  maxSeqs: number;
  /** Positions per row: the longest sequence (prompt + output) a row can hold. */
  maxLen: number;
  /**
   * An int8 cache's key layout: 0 (or absent) for transposed keys [rows, kvHeads, headDim, capacity];
   * N for keys in blocks of N positions, [rows, kvHeads, capacity / N, headDim, N]. The capacity is
   * then always a multiple of N.
   */
  keyBlock?: number;
}

export type KvArray = Float32Array | Uint16Array | Uint8Array | Int8Array;

/**
 * One of a layer's cache tensors: keys, values or their scales, [rows, kvHeads, capacity, width];
 * with `transposed` [rows, kvHeads, width, capacity], and with a `block` of N positions as well
 * [rows, kvHeads, capacity / N, width, N] (an int8 cache's keys, which attention reads as the
 * right-hand matrix of q k^T).
 */
interface PlaneSpec {
  type: 'float32' | 'float16' | 'uint8' | 'int8';
  /** Elements per position and head: headDim for keys and values, 1 for scales. */
  width: number;
  transposed?: boolean;
  /** With `transposed`: positions per block (0: one block of the whole capacity). */
  block?: number;
}

/**
 * A row of a plane is a run of lines, each holding `capacity` positions of `unit` elements: one
 * line per head, or for transposed keys without blocks one per head and dimension. A line's first
 * `length` positions are its first `prefix(length)` elements: in blocks, the whole blocks they
 * touch.
 */
function linesOf(plane: PlaneSpec, kvHeads: number): { lines: number; unit: number; prefix: (length: number) => number } {
  const { width, transposed, block = 0 } = plane;
  if (!transposed) return { lines: kvHeads, unit: width, prefix: (length) => length * width };
  if (block === 0) return { lines: kvHeads * width, unit: 1, prefix: (length) => length };
  return { lines: kvHeads, unit: width, prefix: (length) => Math.ceil(length / block) * block * width };
}

/**
 * The tensors a layer's cache consists of, in the order the graph names them (SessionIO's
 * pastNames / outputNames): key, value, then for int8 the key and value scales.
 */
export function kvPlanes(kvType: KvCacheType, headDim: number, keyBlock = 0): PlaneSpec[] {
  if (kvType !== 'int8') return [{ type: kvType, width: headDim }, { type: kvType, width: headDim }];
  return [
    { type: 'int8', width: headDim, transposed: true, block: keyBlock },
    { type: 'int8', width: headDim },
    { type: 'float32', width: 1 },
    { type: 'float32', width: 1 },
  ];
}

const ELEMENT_BYTES = { float32: 4, float16: 2, uint8: 1, int8: 1 } as const;

/** Per layer, the tensors over a run of rows, one per plane (see kvPlanes). */
export type KvView = ort.Tensor[][];

/**
 * Positions per row the buffers start with (or maxLen, if smaller), and the step capacity moves
 * in; with blocked keys, the block size if larger.
 */
const CAPACITY_STEP = 64;

/**
 * The KV cache of every running sequence: per layer, one buffer per plane (a key and a value buffer
 * shaped [maxSeqs, kvHeads, capacity, headDim], plus their scales for an int8 cache), a row per
 * sequence. Graphs with `present` outputs
 * (GroupQueryAttention) read and write these in place (the same tensor is fed as past and fetched
 * as present); graphs with `new-positions` outputs only read them, and writeNewPositions() stores
 * what they computed.
 *
 * Rows are plain memory: a run of consecutive rows is a zero-copy view, which is why the engine
 * keeps decoding rows packed at the front. Buffers are allocated zero-filled and rows are never
 * cleared, so the operating system only commits pages a sequence has actually written.
 *
 * Why `capacity` follows the longest live sequence instead of being maxLen: every forward pass
 * reads its whole KV view, [rows, kvHeads, capacity, headDim] per layer and kind, and with
 * `present` outputs onnxruntime-node 1.30 also copies it into a new JavaScript buffer after each
 * run (it copies every fetched output, pre-allocated ones included). With capacity = maxLen (8192
 * by default) one decode row cost 2.4 GB of copying per step for Qwen3-4B and eight rows ran the
 * machine out of memory. Capacity is instead a multiple of 64 positions (of the key block, with
 * blocked int8 keys) just above the longest sequence a live row holds: it grows by at least an
 * eighth (so a long sequence relays out the pool a logarithmic number of times plus once per step
 * at most), and shrinks when the longest live row falls a quarter below it (a long
 * request that finished must not slow every later one). A relayout moves each live row's written
 * positions once, about what one forward pass copies anyway.
 */
export class KvPool {
  readonly shape: KvPoolShape;
  /** Bytes of KV one token occupies across all layers (keys and values). */
  readonly bytesPerToken: number;
  private readonly planes: PlaneSpec[];
  /** Capacity moves in multiples of this (CAPACITY_STEP, or the key block if larger). */
  private readonly step: number;
  /** The most positions a row's layout holds: maxLen, rounded up to a whole step for blocked keys. */
  private readonly limit: number;
  /** [layer][plane] */
  private buffers: KvArray[][];
  /** Positions each row holds in the current layout. */
  private capacityPositions: number;
  /**
   * Per row, an upper bound of the positions ever written (forward passes and row copies): what a
   * capacity change must carry over. Positions beyond a sequence's length are masked and harmless.
   */
  private readonly written: Int32Array;

  constructor(shape: KvPoolShape) {
    this.shape = shape;
    const keyBlock = shape.kvType === 'int8' ? (shape.keyBlock ?? 0) : 0;
    this.planes = kvPlanes(shape.kvType, shape.headDim, keyBlock);
    this.step = Math.max(CAPACITY_STEP, keyBlock);
    this.limit = keyBlock > 0 ? Math.ceil(shape.maxLen / this.step) * this.step : shape.maxLen;
    this.bytesPerToken = shape.numLayers * shape.kvHeads * this.planes.reduce((sum, plane) => sum + plane.width * ELEMENT_BYTES[plane.type], 0);
    this.capacityPositions = this.stepsFor(0);
    this.written = new Int32Array(shape.maxSeqs);
    this.buffers = Array.from({ length: shape.numLayers }, () => this.planes.map((plane) => this.allocateOne(plane, this.capacityPositions)));
  }

  /** Address space the buffers may grow to (resident memory is lower; see the class comment). */
  get reservedBytes(): number {
    return this.bytesPerToken * this.shape.maxSeqs * this.limit;
  }

  /** Positions per row in the current layout: the sequence dimension of every view. */
  get capacity(): number {
    return this.capacityPositions;
  }

  /**
   * Makes every row hold at least `positions` positions, widening the layout when needed. Call it
   * before taking the view of a forward pass that writes up to that position.
   */
  reserve(positions: number): void {
    if (positions <= this.capacityPositions) return;
    if (positions > this.shape.maxLen) {
      throw new RangeError(`${positions} positions exceed the pool's rows of ${this.shape.maxLen}`);
    }
    const capacity = this.capacityPositions;
    this.relayout(this.stepsFor(Math.max(positions, capacity + capacity / 8)));
  }

  /**
   * Marks a row as holding no sequence: its positions need not be carried any more, and when the
   * longest live row now fits in three quarters of the capacity, the layout narrows to it.
   */
  releaseRow(row: number): void {
    this.checkRows(row, 1);
    this.written[row] = 0;
    const fitted = this.stepsFor(Math.max(...this.written));
    if (fitted <= (this.capacityPositions * 3) / 4) this.relayout(fitted);
  }

  /** Per layer and plane, tensors over rows [firstRow, firstRow + count), each [count, kvHeads, capacity, width] (see PlaneSpec for keys). */
  view(firstRow: number, count: number): KvView {
    this.checkRows(firstRow, count);
    const { kvHeads } = this.shape;
    const capacity = this.capacityPositions;
    return this.buffers.map((layer) =>
      layer.map((buffer, p) => {
        const { type, width, transposed, block = 0 } = this.planes[p];
        const rowElements = kvHeads * capacity * width;
        const data = buffer.subarray(firstRow * rowElements, (firstRow + count) * rowElements);
        const dims = !transposed ? [count, kvHeads, capacity, width] : block === 0 ? [count, kvHeads, width, capacity] : [count, kvHeads, capacity / block, width, block];
        return new ort.Tensor(type, data, dims);
      }),
    );
  }

  /**
   * Stores one layer's new positions, as a cache-reading graph returns them: one array per plane,
   * each [rows, kvHeads, S, width] (transposed planes, blocked or not, [rows, kvHeads, width, S]);
   * row i's S positions go after its `pastLengths[i]` cached ones. The caller has reserved room.
   */
  writeNewPositions(layer: number, firstRow: number, pastLengths: readonly number[], planes: readonly KvArray[]): void {
    const { kvHeads } = this.shape;
    const rows = pastLengths.length;
    this.checkRows(firstRow, rows);
    if (planes.length !== this.planes.length) throw new RangeError(`expected ${this.planes.length} KV planes, got ${planes.length}`);
    const capacity = this.capacityPositions;
    planes.forEach((source, p) => {
      const plane = this.planes[p];
      const target = this.buffers[layer][p];
      const { lines, unit } = linesOf(plane, kvHeads);
      const lineElements = capacity * unit;
      const block = plane.block ?? 0;
      if (block === 0) {
        const span = source.length / (rows * lines); // S * unit
        for (let r = 0; r < rows; r++) {
          for (let line = 0; line < lines; line++) {
            const from = (r * lines + line) * span;
            const to = ((firstRow + r) * lines + line) * lineElements + pastLengths[r] * unit;
            // A decode step's transposed keys are single elements: no subarray for each.
            if (span === 1) target[to] = source[from];
            else target.set(source.subarray(from, from + span), to);
          }
        }
        return;
      }
      // Blocked keys: each (row, head, dim) run of S positions lands in the blocks it crosses.
      const { width } = plane;
      const positions = source.length / (rows * kvHeads * width); // S
      for (let r = 0; r < rows; r++) {
        for (let h = 0; h < kvHeads; h++) {
          const headStart = ((firstRow + r) * kvHeads + h) * lineElements;
          for (let d = 0; d < width; d++) {
            const from = ((r * kvHeads + h) * width + d) * positions;
            for (let s = 0; s < positions; ) {
              const position = pastLengths[r] + s;
              const within = position % block;
              const to = headStart + (position - within) * width + d * block + within;
              const run = Math.min(positions - s, block - within);
              if (run === 1) target[to] = source[from + s];
              else target.set(source.subarray(from + s, from + s + run), to);
              s += run;
            }
          }
        }
      }
    });
  }

  /** Records that a forward pass wrote rows [firstRow, ...) up to lengths[i] positions. */
  noteWritten(firstRow: number, lengths: readonly number[]): void {
    this.checkRows(firstRow, lengths.length);
    lengths.forEach((length, i) => {
      this.written[firstRow + i] = Math.max(this.written[firstRow + i], length);
    });
  }

  /**
   * Copies the first `length` positions of row `from` into row `to` in every layer and head; the
   * engine uses it to keep live rows packed. Positions past `length` are left as they are: they are
   * masked out and will be overwritten before they are read.
   */
  copyRow(from: number, to: number, length: number): void {
    if (from === to || length === 0) return;
    this.forEachHeadSpan(length, (buffer, rowStart, span) => buffer.copyWithin(rowStart(to), rowStart(from), rowStart(from) + span));
    // What `to` held beyond `length` belonged to the sequence that left it: no longer carried.
    this.written[to] = length;
  }

  /** Exchanges the valid positions of two rows (the longer length is swapped for both). */
  swapRows(a: number, b: number, length: number): void {
    if (a === b || length === 0) return;
    this.forEachHeadSpan(length, (buffer, rowStart, span) => {
      const saved = buffer.slice(rowStart(a), rowStart(a) + span);
      buffer.copyWithin(rowStart(a), rowStart(b), rowStart(b) + span);
      buffer.set(saved, rowStart(b));
    });
    this.written[a] = length;
    this.written[b] = length;
  }

  /**
   * Calls `visit` once per buffer and line (see linesOf) with the offset function of that line's
   * span in a row and the span's element count (what holds the first `length` positions).
   */
  private forEachHeadSpan(length: number, visit: (buffer: KvArray, rowStart: (row: number) => number, span: number) => void): void {
    const capacity = this.capacityPositions;
    for (const layer of this.buffers) {
      layer.forEach((buffer, p) => {
        const { lines, unit, prefix } = linesOf(this.planes[p], this.shape.kvHeads);
        for (let line = 0; line < lines; line++) {
          visit(buffer, (row) => (row * lines + line) * capacity * unit, prefix(length));
        }
      });
    }
  }

  /** Moves every row's written positions into buffers of `capacity` positions per row. */
  private relayout(capacity: number): void {
    const { maxSeqs, kvHeads } = this.shape;
    const old = this.capacityPositions;
    // One buffer at a time, so the old layout is freed as the new one fills.
    this.buffers = this.buffers.map((layer) =>
      layer.map((buffer, p) => {
        const plane = this.planes[p];
        const { lines, unit, prefix } = linesOf(plane, kvHeads);
        const moved = this.allocateOne(plane, capacity);
        for (let row = 0; row < maxSeqs; row++) {
          // Rows never written stay zero pages: copying them would commit memory for nothing.
          const span = prefix(Math.min(this.written[row], old, capacity));
          if (span === 0) continue;
          for (let line = 0; line < lines; line++) {
            const from = (row * lines + line) * old * unit;
            moved.set(buffer.subarray(from, from + span), (row * lines + line) * capacity * unit);
          }
        }
        return moved;
      }),
    );
    this.capacityPositions = capacity;
  }

  /** Smallest multiple of the step that holds `positions`, at most the limit. */
  private stepsFor(positions: number): number {
    return Math.min(this.limit, Math.max(this.step, Math.ceil(positions / this.step) * this.step));
  }

  private allocateOne(plane: PlaneSpec, capacity: number): KvArray {
    const elements = this.shape.maxSeqs * this.shape.kvHeads * capacity * plane.width;
    switch (plane.type) {
      case 'float32':
        return new Float32Array(elements);
      case 'float16':
        return new Uint16Array(elements);
      case 'uint8':
        return new Uint8Array(elements);
      case 'int8':
        return new Int8Array(elements);
    }
  }

  private checkRows(firstRow: number, count: number): void {
    if (count < 1 || firstRow < 0 || firstRow + count > this.shape.maxSeqs) {
      throw new RangeError(`rows [${firstRow}, ${firstRow + count}) are outside the pool of ${this.shape.maxSeqs}`);
    }
  }
}
