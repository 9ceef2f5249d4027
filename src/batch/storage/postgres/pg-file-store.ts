import { Readable } from 'node:stream';
import type pg from 'pg';
import { newFileId } from '../../batch-ids.js';
import { unixNow } from '../../unix-time.js';
import { type FileContentWriter, type FileListQuery, type FilePurpose, type FileStore, type StoredFile, type FileRow, toFile } from '../file-store.js';
import { inTransaction } from './pg-database.js';

/** Bytes per row of file_chunks: an upload is a few statements, a download reads one chunk at a time. */
const CHUNK_BYTES = 1 << 20;
/** Chunks of no file that are older than this are a crashed writer's (a live one finishes long before). */
const ORPHAN_AGE = '1 hour';

/** A file's row, on the caller's connection (inside its transaction); its chunks are already committed. */
export async function insertFileRow(client: pg.ClientBase, file: StoredFile): Promise<void> {
  await client.query('INSERT INTO files (id, filename, purpose, bytes, created_at) VALUES ($1, $2, $3, $4, $5)', [file.id, file.filename, file.purpose, file.bytes, file.createdAt]);
}

/**
 * Files in PostgreSQL: rows in `files`, bytes in `file_chunks` (see pg-database.ts for why in the
 * database). The same order as on disk: chunks committed first, then the row; a delete removes
 * the row and its chunks in one transaction.
 */
export class PgFileStore implements FileStore {
  constructor(private readonly pool: pg.Pool) {}

  /** Removes chunks that no row names and that no live writer can still be writing. */
  async sweepOrphans(): Promise<void> {
    await this.pool.query(`DELETE FROM file_chunks c WHERE written_at < now() - interval '${ORPHAN_AGE}' AND NOT EXISTS (SELECT 1 FROM files f WHERE f.id = c.file_id)`);
  }

  async add(filename: string, purpose: FilePurpose, content: Uint8Array): Promise<StoredFile> {
    const file: StoredFile = { id: newFileId(), filename, purpose, bytes: content.byteLength, createdAt: unixNow() };
    await inTransaction(this.pool, async (client) => {
      for (let chunk = 0, at = 0; at < content.byteLength; chunk++, at += CHUNK_BYTES) {
        await client.query('INSERT INTO file_chunks (file_id, chunk, data) VALUES ($1, $2, $3)', [file.id, chunk, Buffer.from(content.buffer, content.byteOffset + at, Math.min(CHUNK_BYTES, content.byteLength - at))]);
      }
      await insertFileRow(client, file);
    });
    return file;
  }

  async get(id: string): Promise<StoredFile | undefined> {
    const { rows } = await this.pool.query<FileRow>('SELECT id, filename, purpose, bytes, created_at FROM files WHERE id = $1', [id]);
    return rows[0] && toFile(rows[0]);
  }

  async list(query: FileListQuery): Promise<{ files: StoredFile[]; hasMore: boolean }> {
    const conditions: string[] = [];
    const params: (string | number)[] = [];
    if (query.purpose !== undefined) {
      params.push(query.purpose);
      conditions.push(`purpose = $${params.length}`);
    }
    if (query.after !== undefined) {
      params.push(query.after);
      // An unknown cursor matches nothing rather than restarting the listing.
      conditions.push(`seq ${query.order === 'desc' ? '<' : '>'} coalesce((SELECT seq FROM files WHERE id = $${params.length}), ${query.order === 'desc' ? '-1' : '9223372036854775807'})`);
    }
    params.push(query.limit + 1);
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const { rows } = await this.pool.query<FileRow>(
      `SELECT id, filename, purpose, bytes, created_at FROM files ${where} ORDER BY seq ${query.order === 'desc' ? 'DESC' : 'ASC'} LIMIT $${params.length}`,
      params,
    );
    return { files: rows.slice(0, query.limit).map(toFile), hasMore: rows.length > query.limit };
  }

  async remove(id: string): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query('DELETE FROM files WHERE id = $1', [id]);
      if (rowCount === 0) return false;
      await client.query('DELETE FROM file_chunks WHERE file_id = $1', [id]);
      return true;
    });
  }

  async readContent(id: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const chunk of this.chunks(id)) parts.push(chunk);
    return Buffer.concat(parts);
  }

  contentStream(id: string): Readable {
    return Readable.from(this.chunks(id), { objectMode: false });
  }

  /** The chunks in order, one query each: memory holds one chunk at a time. */
  private async *chunks(id: string): AsyncGenerator<Buffer> {
    for (let chunk = 0; ; chunk++) {
      const { rows } = await this.pool.query<{ data: Buffer }>('SELECT data FROM file_chunks WHERE file_id = $1 AND chunk = $2', [id, chunk]);
      if (rows.length === 0) return;
      yield rows[0].data;
    }
  }

  async contentWriter(id: string): Promise<FileContentWriter> {
    return new PgChunkWriter(this.pool, id);
  }

  async discardContent(id: string): Promise<void> {
    await this.pool.query('DELETE FROM file_chunks WHERE file_id = $1', [id]);
  }
}

/** Gathers text into 1 MiB chunks and commits each as it fills. */
class PgChunkWriter implements FileContentWriter {
  private readonly parts: Buffer[] = [];
  private buffered = 0;
  private written = 0;
  private chunk = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly id: string,
  ) {}

  async write(text: string): Promise<void> {
    const part = Buffer.from(text, 'utf8');
    this.parts.push(part);
    this.buffered += part.length;
    while (this.buffered >= CHUNK_BYTES) await this.flush(CHUNK_BYTES);
  }

  async finish(): Promise<number> {
    if (this.buffered > 0) await this.flush(this.buffered);
    return this.written;
  }

  async abandon(): Promise<void> {
    await this.pool.query('DELETE FROM file_chunks WHERE file_id = $1', [this.id]).catch(() => {});
  }

  private async flush(bytes: number): Promise<void> {
    const all = Buffer.concat(this.parts, this.buffered);
    const data = all.subarray(0, bytes);
    const rest = all.subarray(bytes);
    await this.pool.query('INSERT INTO file_chunks (file_id, chunk, data) VALUES ($1, $2, $3)', [this.id, this.chunk, data]);
    this.chunk++;
    this.written += bytes;
    this.parts.length = 0;
    this.buffered = rest.length;
    if (rest.length > 0) this.parts.push(Buffer.from(rest));
  }
}
