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
  it('keeps decoding rows packed from row 0 through admits, promotions, releases, and cached prefixes kept, reused and evicted', () => {
    const capacity = 8;
    const pool = new FakePool(capacity);
    const content = new Map<number, number[]>(); // what each live sequence has written
    const cached = new Map<number, number[]>(); // what each cached prefix holds
    const rows = new KvRows<number>(capacity, pool, (id) => content.get(id)!.length);
    const random = mulberry32(42);
    let nextId = 1;
    let nextEntry = 0;
    const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];

    const write = (id: number, tokens: number[]) => {
      const row = rows.row(id);
      pool.rows[row].push(...tokens);
      content.get(id)!.push(...tokens);
    };

    for (let step = 0; step < 4000; step++) {
      const live = [...content.keys()];
      const choice = random();
      if (choice < 0.2 && rows.free > 0) {
        const id = nextId++;
        content.set(id, []);
        const row = rows.admit(id);
        expect(pool.rows[row]).toEqual([]);
        write(id, [id * 1000]);
      } else if (choice < 0.3 && cached.size > 0) {
        // A new sequence takes a cached prefix over, keeping some of its positions.
        const entry = pick([...cached.keys()]);
        const kept = cached.get(entry)!.slice(0, 1 + Math.floor(random() * cached.get(entry)!.length));
        const id = nextId++;
        const copies = pool.copies;
        const row = rows.adopt(id, entry);
        expect(pool.copies).toBe(copies);
        cached.delete(entry);
        // Positions after the kept ones are overwritten as the sequence computes.
        pool.rows[row].length = kept.length;
        content.set(id, kept);
        write(id, [id * 1000]);
      } else if (choice < 0.5 && live.length > 0) {
        const prefilling = live.filter((id) => !rows.isDecoding(id));
        if (prefilling.length > 0) rows.startDecoding(pick(prefilling));
      } else if (choice < 0.6 && live.length > 0) {
        const id = pick(live);
        const row = rows.row(id);
        rows.release(id);
        content.delete(id);
        // The row handed back is one no live sequence holds now (the fake clears it: a live row
        // cleared here would fail the content check below).
        expect(pool.released.at(-1)).toBe(row < rows.decoding + 1 ? rows.decoding : row);
      } else if (choice < 0.7 && live.length > 0) {
        const id = pick(live);
        const entry = nextEntry++;
        rows.retain(id, entry, content.get(id)!.length);
        cached.set(entry, content.get(id)!);
        content.delete(id);
      } else if (choice < 0.75 && cached.size > 0) {
        const entry = pick([...cached.keys()]);
        rows.evict(entry);
        cached.delete(entry);
      } else {
        for (const id of live) write(id, [id * 1000 + content.get(id)!.length]);
      }

      // Invariants: every live sequence's row and every cached prefix's row hold exactly what
      // they wrote, decoding rows are [0, decoding), no two holders share a row.
      const seen = new Set<number>();
      for (const [id, tokens] of content) {
        const row = rows.row(id);
        expect(seen.has(row)).toBe(false);
        seen.add(row);
        expect(pool.rows[row].slice(0, tokens.length)).toEqual(tokens);
        expect(row < rows.decoding).toBe(rows.isDecoding(id));
      }
      for (const [entry, tokens] of cached) {
        const row = rows.cachedRowOf(entry);
        expect(seen.has(row)).toBe(false);
        seen.add(row);
        expect(row).toBeGreaterThanOrEqual(rows.decoding);
        expect(pool.rows[row].slice(0, tokens.length)).toEqual(tokens);
      }
      expect(rows.used).toBe(content.size);
      expect(rows.cached).toBe(cached.size);
      expect(rows.free).toBe(capacity - content.size - cached.size);
      expect(rows.decodeBatch().every((id, i) => rows.row(id) === i)).toBe(true);
    }
    expect(pool.copies).toBeGreaterThan(100);
  });

  it('releasing the last decoding row, or any row outside the decode block, copies nothing', () => {
    const pool = new FakePool(4);
    const rows = new KvRows<string>(4, pool, () => 10);
    rows.admit('a');
    rows.admit('b');
    rows.admit('c');
    rows.startDecoding('a');
    rows.startDecoding('b');
    rows.release('b');
    rows.release('c');
    expect(pool.copies).toBe(0);
    expect(rows.decodeBatch()).toEqual(['a']);
  });

  it('caches a decoding row by swapping it with the last one, and a prefilling row in place', () => {
    const pool = new FakePool(4);
    const lengths = new Map([['a', 3], ['b', 5], ['c', 2]]);
    const rows = new KvRows<string>(4, pool, (id) => lengths.get(id)!);
    for (const id of ['a', 'b', 'c']) rows.admit(id);
    pool.rows[0] = [1, 1, 1];
    pool.rows[1] = [2, 2, 2, 2, 2];
    pool.rows[2] = [3, 3];
    rows.startDecoding('a');
    rows.startDecoding('b');
    rows.retain('c', 7, 2);
    expect(rows.cachedRowOf(7)).toBe(2);
    expect(pool.copies).toBe(0);
    rows.retain('a', 8, 3);
    // b moved into row 0; a's positions are now row 1's, outside the one-row decode block.
    expect(rows.decodeBatch()).toEqual(['b']);
    expect(rows.cachedRowOf(8)).toBe(1);
    expect(pool.rows[0]).toEqual([2, 2, 2, 2, 2]);
    expect(pool.rows[1].slice(0, 3)).toEqual([1, 1, 1]);
    rows.adopt('d', 8);
    expect(rows.row('d')).toBe(1);
    rows.evict(7);
    expect(pool.released.at(-1)).toBe(2);
    expect(rows).toMatchObject({ used: 2, cached: 0, free: 2 });
  });

  it('refuses to over-admit or to address an unknown sequence or prefix', () => {
    const rows = new KvRows<string>(1, new FakePool(1), () => 0);
    rows.admit('a');
    expect(() => rows.admit('b')).toThrow(/no free KV row/);
    expect(() => rows.admit('a')).toThrow(/already holds/);
    expect(() => rows.row('zzz')).toThrow(/holds no KV row/);
    expect(() => rows.adopt('b', 3)).toThrow(/holds no KV row/);
    expect(() => rows.evict(3)).toThrow(/holds no KV row/);
  });
});
