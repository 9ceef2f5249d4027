/**
 * Which KV-pool row holds what: a live sequence, a cached prefix (a finished sequence's row kept
 * for reuse, see the scheduler's prefix caching), or nothing.
 *
 * Invariant: decoding sequences fill rows [0, decoding) with no holes, so a decode step is one
 * batched forward over a zero-copy view of the first `decoding` rows. Every other row (a sequence
 * still prefilling, a cached prefix, a free row) may sit anywhere at or after `decoding`: a prefill
 * chunk runs alone on its own row (GroupQueryAttention's rule for S > 1), wherever that is.
 *
 * Keeping the invariant costs KV copies only when a sequence enters or leaves the decode block;
 * each copy moves only the valid positions of the rows involved. Admitting a sequence, taking over
 * a cached prefix's row, caching a row that is outside the decode block and evicting a cached
 * prefix copy nothing.
 */
export interface RowMover {
  copyRow(from: number, to: number, length: number): void;
  swapRows(a: number, b: number, length: number): void;
  /** The row no longer holds a sequence or a cached prefix. */
  releaseRow(row: number): void;
}

/** What one row holds. A cached prefix knows its own length: its sequence is gone. */
type RowHolder<Id> = { kind: 'sequence'; id: Id } | { kind: 'cached'; entry: number; length: number };

export class KvRows<Id> {
  /** By row; undefined for a free row. */
  private readonly holders: (RowHolder<Id> | undefined)[];
  private readonly sequenceRow = new Map<Id, number>();
  private readonly cachedRow = new Map<number, number>();
  private decodingCount = 0;

  /**
   * @param lengthOf positions currently written in a sequence's row (what a move must copy)
   */
  constructor(
    private readonly capacity: number,
    private readonly mover: RowMover,
    private readonly lengthOf: (id: Id) => number,
  ) {
    this.holders = Array.from({ length: capacity }, () => undefined);
  }

  get decoding(): number {
    return this.decodingCount;
  }

  /** Rows held by live sequences. */
  get used(): number {
    return this.sequenceRow.size;
  }

  /** Rows held by cached prefixes. */
  get cached(): number {
    return this.cachedRow.size;
  }

  get free(): number {
    return this.capacity - this.sequenceRow.size - this.cachedRow.size;
  }

  has(id: Id): boolean {
    return this.sequenceRow.has(id);
  }

  row(id: Id): number {
    const row = this.sequenceRow.get(id);
    if (row === undefined) throw new Error(`sequence ${String(id)} holds no KV row`);
    return row;
  }

  isDecoding(id: Id): boolean {
    return this.row(id) < this.decodingCount;
  }

  /** The row of a cached prefix. */
  cachedRowOf(entry: number): number {
    const row = this.cachedRow.get(entry);
    if (row === undefined) throw new Error(`cached prefix ${entry} holds no KV row`);
    return row;
  }

  /** The sequences of the decode batch, in row order (row i holds decodeBatch()[i]). */
  decodeBatch(): readonly Id[] {
    return this.holders.slice(0, this.decodingCount).map((holder) => (holder as { id: Id }).id);
  }

  /** Gives a new sequence the first free row (one after the decode block). It holds no positions yet. */
  admit(id: Id): number {
    if (this.sequenceRow.has(id)) throw new Error(`sequence ${String(id)} already holds a row`);
    const row = this.holders.indexOf(undefined, this.decodingCount);
    if (row < 0) throw new Error('no free KV row');
    this.place({ kind: 'sequence', id }, row);
    return row;
  }

  /** A new sequence takes over a cached prefix's row, positions and all (no copy). */
  adopt(id: Id, entry: number): number {
    if (this.sequenceRow.has(id)) throw new Error(`sequence ${String(id)} already holds a row`);
    const row = this.cachedRowOf(entry);
    this.cachedRow.delete(entry);
    this.place({ kind: 'sequence', id }, row);
    return row;
  }

  /** Moves a sequence that finished its prompt into the decode block (row `decoding`). */
  startDecoding(id: Id): void {
    const row = this.row(id);
    if (row < this.decodingCount) return;
    const target = this.decodingCount;
    if (row !== target) {
      const other = this.holders[target];
      if (other === undefined) {
        this.mover.copyRow(row, target, this.lengthOf(id));
        this.holders[row] = undefined;
        this.mover.releaseRow(row);
      } else {
        this.mover.swapRows(row, target, Math.max(this.lengthOf(id), this.holderLength(other)));
        this.place(other, row);
      }
      this.place({ kind: 'sequence', id }, target);
    }
    this.decodingCount++;
  }

  /** Frees a sequence's row; a hole in the decode block is filled with its last row. */
  release(id: Id): void {
    const row = this.leaveDecodeBlock(id);
    this.holders[row] = undefined;
    this.mover.releaseRow(row);
  }

  /**
   * Keeps a finished sequence's row as cached prefix `entry`, whose first `length` positions
   * hold its tokens. Outside the decode block this copies nothing.
   */
  retain(id: Id, entry: number, length: number): void {
    if (this.cachedRow.has(entry)) throw new Error(`cached prefix ${entry} already holds a row`);
    const row = this.leaveDecodeBlock(id, length);
    this.place({ kind: 'cached', entry, length }, row);
  }

  /** Frees a cached prefix's row. */
  evict(entry: number): void {
    const row = this.cachedRowOf(entry);
    this.cachedRow.delete(entry);
    this.holders[row] = undefined;
    this.mover.releaseRow(row);
  }

  /**
   * Takes a sequence out of the row map and returns the row whose contents are now its own: its
   * row if that was outside the decode block, otherwise the decode block's last row, after the
   * block's last sequence and this one swapped (keeping `keep` of this one's positions) or, when
   * `keep` is 0, after that sequence was copied over this one. The decode block shrinks by one.
   */
  private leaveDecodeBlock(id: Id, keep = 0): number {
    const row = this.row(id);
    this.sequenceRow.delete(id);
    this.holders[row] = undefined;
    if (row >= this.decodingCount) return row;
    const last = --this.decodingCount;
    if (row === last) return row;
    const moved = this.holders[last]!;
    if (keep > 0) this.mover.swapRows(last, row, Math.max(keep, this.holderLength(moved)));
    else this.mover.copyRow(last, row, this.holderLength(moved));
    this.holders[last] = undefined;
    this.place(moved, row);
    return last;
  }

  private holderLength(holder: RowHolder<Id>): number {
    return holder.kind === 'cached' ? holder.length : this.lengthOf(holder.id);
  }

  private place(holder: RowHolder<Id>, row: number): void {
    this.holders[row] = holder;
    if (holder.kind === 'sequence') this.sequenceRow.set(holder.id, row);
    else this.cachedRow.set(holder.entry, row);
  }
}
