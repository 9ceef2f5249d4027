/**
 * The reference pass's KV cache for one sequence: per layer, the rotated keys and the values of
 * every position seen so far, position-major so appending a chunk is one copy.
 * Invariant: every layer holds exactly `length` positions between forward calls.
 */
export class ReferenceKvCache {
  private capacity = 0;
  private filled = 0;
  /** Per layer: [capacity, kvHeads, headDim]; the first `length` positions are valid. */
  private readonly keys: Float32Array[];
  /** Per layer: [capacity, kvHeads, headDim]. */
  private readonly values: Float32Array[];
  /** kvHeads * headDim: the floats one position occupies in one layer's keys or values. */
  readonly positionWidth: number;

  constructor(
    readonly numLayers: number,
    kvHeads: number,
    headDim: number,
  ) {
    this.positionWidth = kvHeads * headDim;
    this.keys = Array.from({ length: numLayers }, () => new Float32Array(0));
    this.values = Array.from({ length: numLayers }, () => new Float32Array(0));
  }

  /** Positions held by every layer. */
  get length(): number {
    return this.filled;
  }

  /**
   * Stores one layer's keys and values [seqLen, kvHeads, headDim] for positions
   * length .. length + seqLen - 1. The caller appends to every layer, then calls `commit`.
   */
  append(layer: number, keys: Float32Array, values: Float32Array, seqLen: number): void {
    if (keys.length !== seqLen * this.positionWidth || values.length !== keys.length) {
      throw new Error(`kv cache: layer ${layer} got ${keys.length}/${values.length} values for ${seqLen} positions`);
    }
    this.ensureCapacity(this.filled + seqLen);
    this.keys[layer].set(keys, this.filled * this.positionWidth);
    this.values[layer].set(values, this.filled * this.positionWidth);
  }

  /** Makes the positions appended to every layer visible: length grows by seqLen. */
  commit(seqLen: number): void {
    this.filled += seqLen;
  }

  /** One layer's keys and values [total, kvHeads, headDim], total = positions appended so far. */
  layerView(layer: number, total: number): { keys: Float32Array; values: Float32Array } {
    const end = total * this.positionWidth;
    return { keys: this.keys[layer].subarray(0, end), values: this.values[layer].subarray(0, end) };
  }

  /** Grows every layer's buffers geometrically so decoding one token at a time stays linear. */
  private ensureCapacity(positions: number): void {
    if (positions <= this.capacity) return;
    const capacity = Math.max(positions, this.capacity * 2, 64);
    for (let layer = 0; layer < this.numLayers; layer++) {
      const keys = new Float32Array(capacity * this.positionWidth);
      const values = new Float32Array(capacity * this.positionWidth);
      keys.set(this.keys[layer]);
      values.set(this.values[layer]);
      this.keys[layer] = keys;
      this.values[layer] = values;
    }
    this.capacity = capacity;
  }
}
