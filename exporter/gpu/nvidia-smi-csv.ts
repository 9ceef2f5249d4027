/**
 * Parsing of `nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits` output.
 *
 * nvidia-smi writes one line per GPU, the queried fields in order, separated by ", ", unquoted.
 * A field the device cannot report reads `[N/A]`, `N/A`, `[Not Supported]`, `[Unknown Error]` and
 * the like: those become null, never 0, so a missing sensor is never graphed as a cold idle GPU.
 */

/** The fields we query, in order: what the GPU panels show, labelled by index and name. */
export const GPU_QUERY_FIELDS = ['index', 'name', 'utilization.gpu', 'memory.used', 'memory.total', 'temperature.gpu', 'power.draw'] as const;

export function nvidiaSmiArgs(fields: readonly string[] = GPU_QUERY_FIELDS): string[] {
  return [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits'];
}

/** One output line as field -> raw text (trimmed), null where nvidia-smi had no value. */
export type NvidiaSmiRow = Record<string, string | null>;

/**
 * Splits the output into rows keyed by the queried fields. A line with more commas than fields
 * has a comma inside the product name (nvidia-smi does not quote): the surplus is joined back
 * into the `name` field. A line with fewer fields is malformed and skipped.
 */
export function parseNvidiaSmiCsv(output: string, fields: readonly string[]): NvidiaSmiRow[] {
  const rows: NvidiaSmiRow[] = [];
  const nameAt = fields.indexOf('name');
  for (const line of output.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    let cells = line.split(',').map((cell) => cell.trim());
    if (cells.length > fields.length && nameAt >= 0) {
      const surplus = cells.length - fields.length;
      const name = cells.slice(nameAt, nameAt + surplus + 1).join(', ');
      cells = [...cells.slice(0, nameAt), name, ...cells.slice(nameAt + surplus + 1)];
    }
    if (cells.length !== fields.length) continue;
    const row: NvidiaSmiRow = {};
    fields.forEach((field, i) => {
      row[field] = isMissing(cells[i]) ? null : cells[i];
    });
    rows.push(row);
  }
  return rows;
}

function isMissing(cell: string): boolean {
  return cell === '' || cell === 'N/A' || (cell.startsWith('[') && cell.endsWith(']'));
}

/** One GPU's reading, in base units. Null where the device reports no value. */
export interface GpuReading {
  index: string;
  name: string;
  /** 0..1 */
  utilization: number | null;
  memoryUsedBytes: number | null;
  memoryTotalBytes: number | null;
  temperatureCelsius: number | null;
  powerWatts: number | null;
}

const MIB = 1024 * 1024;

/** Turns rows of GPU_QUERY_FIELDS into readings: percent to ratio, MiB to bytes. */
export function gpuReadings(rows: readonly NvidiaSmiRow[]): GpuReading[] {
  const readings: GpuReading[] = [];
  for (const row of rows) {
    const index = row['index'];
    // Without an index a GPU cannot be labelled apart from the others.
    if (index === null || index === undefined) continue;
    const percent = numberOrNull(row['utilization.gpu']);
    const used = numberOrNull(row['memory.used']);
    const total = numberOrNull(row['memory.total']);
    readings.push({
      index,
      name: row['name'] ?? 'unknown',
      utilization: percent === null ? null : percent / 100,
      memoryUsedBytes: used === null ? null : used * MIB,
      memoryTotalBytes: total === null ? null : total * MIB,
      temperatureCelsius: numberOrNull(row['temperature.gpu']),
      powerWatts: numberOrNull(row['power.draw']),
    });
  }
  return readings;
}

function numberOrNull(text: string | null | undefined): number | null {
  if (text === null || text === undefined) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}
