import { closeSync, fsyncSync, openSync } from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Bytes gathered before one write call: few syscalls for files of many short lines. */
const FLUSH_BYTES = 1 << 20;

/**
 * Writes a file so that it is either absent or complete on disk, also across a crash or power
 * cut: the bytes go to `<path>.tmp`, are fsynced, the temporary is renamed over `path` and the
 * folder is fsynced (so the rename itself is durable). Only then may a database row name the file.
 */
export class DurableFileWriter {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private written = 0;

  private constructor(
    private readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  static async create(path: string): Promise<DurableFileWriter> {
    return new DurableFileWriter(path, await open(temporaryPath(path), 'w'));
  }

  async write(text: string | Uint8Array): Promise<void> {
    const chunk = typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text.buffer, text.byteOffset, text.byteLength);
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered >= FLUSH_BYTES) await this.flush();
  }

  /** Makes the file durable under its final name; returns its size in bytes. */
  async finish(): Promise<number> {
    await this.flush();
    await this.handle.sync();
    await this.handle.close();
    await rename(temporaryPath(this.path), this.path);
    syncFolder(dirname(this.path));
    return this.written;
  }

  /** Gives up: closes the temporary (the caller's next sweep removes it). */
  async abandon(): Promise<void> {
    await this.handle.close().catch(() => {});
  }

  private async flush(): Promise<void> {
    if (this.buffered === 0) return;
    const data = Buffer.concat(this.chunks, this.buffered);
    this.chunks.length = 0;
    this.buffered = 0;
    await this.handle.write(data, 0, data.length);
    this.written += data.length;
  }
}

export function temporaryPath(path: string): string {
  return `${path}.tmp`;
}

/** fsync of a folder: makes the creation, rename or removal of its entries durable. */
export function syncFolder(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
