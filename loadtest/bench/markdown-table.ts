/**
 * A Markdown table with padded columns: readable in a terminal and pasted as is into
 * BENCHMARKS.md. Cells are plain strings; numbers are formatted by the caller.
 */
export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((cell, c) => (cell ?? '').padEnd(widths[c])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** Bytes in decimal gigabytes with two decimals ('2.31 GB'). */
export function gigabytes(bytes: number): string {
  return `${(bytes / 1e9).toFixed(2)} GB`;
}

/** A 1-, 5- and 15-minute load average triple ('1.02 / 0.88 / 1.40'). */
export function loadTriple(load: number[]): string {
  return load.map((l) => l.toFixed(2)).join(' / ');
}
