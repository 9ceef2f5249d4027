import { fstatSync, readSync } from 'node:fs';

/** One tensor's entry in a safetensors header, with its data located in the file. */
export interface SafetensorsEntry {
  dtype: string;
  dims: number[];
  /** Absolute byte offset of the tensor's data in the file. */
  fileOffset: number;
  byteLength: number;
}

/** The safetensors spec caps the JSON header at 100 MB; anything larger is not a safetensors file. */
const MAX_HEADER_BYTES = 100_000_000;

/**
 * Reads the header of an open safetensors file: an 8-byte little-endian header length, then that
 * many bytes of JSON mapping tensor names to {dtype, shape, data_offsets}, offsets relative to the
 * end of the header. Reads only the header; checks every entry lies inside the file.
 */
export function readSafetensorsHeader(fd: number, path: string): Map<string, SafetensorsEntry> {
  const fileSize = fstatSync(fd).size;
  if (fileSize < 8) throw new Error(`safetensors: ${path} is too short (${fileSize} bytes) to hold a header`);
  const prefix = Buffer.alloc(8);
  readFully(fd, prefix, 0, path);
  const headerBytes = prefix.readBigUInt64LE(0);
  if (headerBytes > BigInt(Math.min(MAX_HEADER_BYTES, fileSize - 8))) {
    throw new Error(`safetensors: ${path} declares a ${headerBytes}-byte header in a ${fileSize}-byte file`);
  }
  const headerLength = Number(headerBytes);
  const json = Buffer.alloc(headerLength);
  readFully(fd, json, 8, path);

  let header: unknown;
  try {
    header = JSON.parse(json.toString('utf8'));
  } catch (error) {
    throw new Error(`safetensors: ${path} has a header that is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new Error(`safetensors: ${path} has a header that is not a JSON object`);
  }

  const dataStart = 8 + headerLength;
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue; // free-form string map, not a tensor
    entries.set(name, parseEntry(name, raw, dataStart, fileSize, path));
  }
  return entries;
}

function parseEntry(name: string, raw: unknown, dataStart: number, fileSize: number, path: string): SafetensorsEntry {
  const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (
    typeof entry !== 'object' ||
    entry === null ||
    typeof entry.dtype !== 'string' ||
    !Array.isArray(entry.shape) ||
    !entry.shape.every(isCount) ||
    !Array.isArray(entry.data_offsets) ||
    entry.data_offsets.length !== 2 ||
    !entry.data_offsets.every(isCount)
  ) {
    throw new Error(`safetensors: ${path}: entry ${name} is not {dtype, shape, data_offsets}`);
  }
  const [begin, end] = entry.data_offsets as [number, number];
  if (end < begin || dataStart + end > fileSize) {
    throw new Error(`safetensors: ${path}: ${name}'s data_offsets [${begin}, ${end}] lie outside the file`);
  }
  return { dtype: entry.dtype, dims: entry.shape, fileOffset: dataStart + begin, byteLength: end - begin };
}

/** Fills `target` from the file at `position`, looping because one read may return fewer bytes. */
export function readFully(fd: number, target: Uint8Array, position: number, path: string): void {
  let done = 0;
  while (done < target.byteLength) {
    // A single read is capped near 2 GiB; a 4B model's embedding in fp32 is larger.
    const chunk = Math.min(target.byteLength - done, 1 << 30);
    const read = readSync(fd, target, done, chunk, position + done);
    if (read === 0) throw new Error(`safetensors: ${path} ended early at byte ${position + done}`);
    done += read;
  }
}
