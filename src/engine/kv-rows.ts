/**
 * Which KV-pool row holds which sequence. Invariant: decoding sequences fill rows [0, decoding)
 * and sequences still prefilling fill [decoding, decoding + prefilling), with no holes, so a decode
 * step is one batched forward over a zero-copy view of the first `decoding` rows, and every
 * prefill chunk runs alone on its own row (GroupQueryAttention's rule for S > 1).
 *
 * Keeping the invariant costs KV copies when a sequence leaves or finishes its prompt; each copy
 * moves only the valid positions of one row.
 */
export interface RowMover {
  copyRow(from: number, to: number, length: number): void;
  swapRows(a: number, b: number, length: number): void;
  /** The row no longer holds a sequence. */
  releaseRow(row: number): void;
}

export class KvRows<Id> {
  private readonly rows: Id[] = [];
  private readonly rowOf = new Map<Id, number>();
  private decodingCount = 0;

  /**
   * @param lengthOf positions currently written in a sequence's row (what a move must copy)
   */
  constructor(
    private readonly capacity: number,
    private readonly mover: RowMover,
    private readonly lengthOf: (id: Id) => number,
  ) {}

  get decoding(): number {
    return this.decodingCount;
  }

  get used(): number {
    return this.rows.length;
  }

  get free(): number {
    return this.capacity - this.rows.length;
  }

  has(id: Id): boolean {
    return this.rowOf.has(id);
  }

  row(id: Id): number {
    const row = this.rowOf.get(id);
    if (row === undefined) throw new Error(`sequence ${String(id)} holds no KV row`);
    return row;
  }

  isDecoding(id: Id): boolean {
    return this.row(id) < this.decodingCount;
  }

  /** The sequences of the decode batch, in row order (row i holds decodeBatch()[i]). */
  decodeBatch(): readonly Id[] {
    return this.rows.slice(0, this.decodingCount);
  }

  /** Gives a new sequence a prefill row at the end. Its row holds no positions yet. */
  admit(id: Id): number {
    if (this.rowOf.has(id)) throw new Error(`sequence ${String(id)} already holds a row`);
    if (this.rows.length >= this.capacity) throw new Error('no free KV row');
    this.rows.push(id);
    this.rowOf.set(id, this.rows.length - 1);
    return this.rows.length - 1;
  }

  /** Moves a sequence that finished its prompt into the decode block (row `decoding`). */
  startDecoding(id: Id): void {
    const row = this.row(id);
    if (row < this.decodingCount) return;
    const target = this.decodingCount;
    if (row !== target) {
      const other = this.rows[target];
      this.mover.swapRows(row, target, Math.max(this.lengthOf(id), this.lengthOf(other)));
      this.place(other, row);
      this.place(id, target);
    }
    this.decodingCount++;
  }

  /** Frees a sequence's row, filling the hole so both blocks stay packed. */
  release(id: Id): void {
    const row = this.row(id);
    this.rowOf.delete(id);
    if (row < this.decodingCount) {
      // Close the hole with the last decoding row, then the hole left there with the last
      // prefilling row, so [0, decoding) and [decoding, used) both stay contiguous.
      const lastDecoding = this.decodingCount - 1;
      this.moveInto(lastDecoding, row);
      this.decodingCount--;
      this.moveInto(this.rows.length - 1, lastDecoding);
    } else {
      this.moveInto(this.rows.length - 1, row);
    }
    this.rows.pop();
    // Every move above left the last row empty.
    this.mover.releaseRow(this.rows.length);
  }

  /** Moves the sequence at `from` to the empty row `to`; a no-op when they coincide. */
  private moveInto(from: number, to: number): void {
    if (from === to) return;
    const id = this.rows[from];
    this.mover.copyRow(from, to, this.lengthOf(id));
    this.place(id, to);
  }

  private place(id: Id, row: number): void {
    this.rows[row] = id;
    this.rowOf.set(id, row);
  }
}
