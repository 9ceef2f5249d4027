import { describe, expect, it } from 'vitest';
import { KvRows, type RowMover } from '../src/engine/kv-rows.js';

/** A KV pool stand-in: each row holds the token ids written into it, copied like real KV. */
class FakePool implements RowMover {
  readonly rows: number[][];
  copies = 0;
  constructor(capacity: number) {
    this.rows = Array.from({ length: capacity }, () => []);
  }
  copyRow(from: number, to: number, length: number): void {
    this.copies++;
    this.rows[to] = this.rows[from].slice(0, length);
  }
  swapRows(a: number, b: number, length: number): void {
    const saved = this.rows[a].slice(0, length);
    this.rows[a] = this.rows[b].slice(0, length);
    this.rows[b] = saved;
  }
  releaseRow(row: number): void {
    this.released.push(row);
    this.rows[row] = [];
  }
  readonly released: number[] = [];
}

/** A seeded generator so the randomized run is reproducible. */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('KvRows', () => {
  it('keeps decoding rows, then prefilling rows, packed from row 0 through admits, promotions and releases', () => {
    const capacity = 8;
    const pool = new FakePool(capacity);
    const content = new Map<number, number[]>(); // what each live sequence has written
    const rows = new KvRows<number>(capacity, pool, (id) => content.get(id)!.length);
    const random = mulberry32(42);
    let nextId = 1;

    const write = (id: number, tokens: number[]) => {
      const row = rows.row(id);
      pool.rows[row].push(...tokens);
      content.get(id)!.push(...tokens);
    };

    for (let step = 0; step < 2000; step++) {
      const live = [...content.keys()];
      const choice = random();
      if (choice < 0.3 && rows.free > 0) {
        const id = nextId++;
        content.set(id, []);
        const row = rows.admit(id);
        pool.rows[row] = [];
        write(id, [id * 1000]);
      } else if (choice < 0.55 && live.length > 0) {
        const prefilling = live.filter((id) => !rows.isDecoding(id));
        if (prefilling.length > 0) rows.startDecoding(prefilling[Math.floor(random() * prefilling.length)]);
      } else if (choice < 0.75 && live.length > 0) {
        const id = live[Math.floor(random() * live.length)];
        rows.release(id);
        content.delete(id);
        // The row handed back is the one the release emptied (the fake clears it: a live row
        // cleared here would fail the content check below).
        expect(pool.released.at(-1)).toBe(rows.used);
      } else {
        for (const id of live) write(id, [id * 1000 + content.get(id)!.length]);
      }

      // Invariants: every live sequence's row holds exactly what it wrote, decoding rows are
      // [0, decoding), prefilling rows are [decoding, used), no two sequences share a row.
      const seen = new Set<number>();
      for (const [id, tokens] of content) {
        const row = rows.row(id);
        expect(seen.has(row)).toBe(false);
        seen.add(row);
        expect(pool.rows[row].slice(0, tokens.length)).toEqual(tokens);
        expect(row < rows.decoding).toBe(rows.isDecoding(id));
        expect(row).toBeLessThan(rows.used);
      }
      expect(rows.used).toBe(content.size);
      expect(rows.decodeBatch().every((id, i) => rows.row(id) === i)).toBe(true);
    }
    expect(pool.copies).toBeGreaterThan(100);
  });

  it('releasing the last row copies nothing', () => {
    const pool = new FakePool(4);
    const rows = new KvRows<string>(4, pool, () => 10);
    rows.admit('a');
    rows.admit('b');
    rows.startDecoding('a');
    rows.startDecoding('b');
    rows.release('b');
    expect(pool.copies).toBe(0);
    expect(rows.decodeBatch()).toEqual(['a']);
  });

  it('refuses to over-admit or to address an unknown sequence', () => {
    const rows = new KvRows<string>(1, new FakePool(1), () => 0);
    rows.admit('a');
    expect(() => rows.admit('b')).toThrow(/no free KV row/);
    expect(() => rows.admit('a')).toThrow(/already holds/);
    expect(() => rows.row('zzz')).toThrow(/holds no KV row/);
  });
});
