/**
 * Applies a grammar's allowed-token bitmask to a row of logits: every token whose bit is clear
 * gets -Infinity, so no sampling setting can pick it. Bit i of word i >> 5 stands for token i
 * (xgrammar's layout). Words with every bit set (free text) are skipped whole.
 *
 * The row is written in place: it is this sequence's own slice of the step's logits, read by
 * nothing after sampling, and a copy of 151936 floats per row would cost more than the masking.
 */
export function applyTokenMask(row: Float32Array, allowed: Int32Array): void {
  const width = row.length;
  for (let word = 0; word < allowed.length; word++) {
    const bits = allowed[word];
    if (bits === -1) continue;
    const base = word << 5;
    const end = Math.min(base + 32, width);
    for (let id = base; id < end; id++) {
      if ((bits & (1 << (id - base))) === 0) row[id] = -Infinity;
    }
  }
}
