import { createReadStream, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type Database from 'better-sqlite3';
import { newFileId } from '../../batch-ids.js';
import { unixNow } from '../../unix-time.js';
import { DurableFileWriter, syncFolder } from '../durable-file.js';
import { type FileContentWriter, type FileListQuery, type FilePurpose, type FileStore, type StoredFile, type FileRow, toFile } from '../file-store.js';

/** A file's row (inside the caller's transaction, if any); its bytes are already durable. */
export function insertFileRow(db: Database.Database, file: StoredFile): void {
  db.prepare('INSERT INTO files (id, filename, purpose, bytes, created_at) VALUES (?, ?, ?, ?, ?)').run(file.id, file.filename, file.purpose, file.bytes, file.createdAt);
}

/**
 * Files: metadata in the `files` table, bytes in `<dataDir>/files/<id>.jsonl`. Why not BLOBs:
 * input files may be hundreds of MB; as files they are streamed to clients without being read
 * into memory, and they never pass through the WAL (which would double every upload's writes and
 * let the database file grow to the largest upload). The cost is two steps where a BLOB needs
 * one, ordered so a crash never leaves a row without its bytes: the bytes are made durable under
 * their final name first (DurableFileWriter), then the row is inserted; a row is deleted before
 * its bytes are unlinked. What a crash can leave is bytes without a row, which sweepOrphans()
 * removes when the store opens.
 */
export class SqliteFileStore implements FileStore {
  readonly folder: string;

  constructor(
    private readonly db: Database.Database,
    dataDir: string,
  ) {
    this.folder = join(dataDir, 'files');
    mkdirSync(this.folder, { recursive: true });
  }

  /** Removes content files no row names: half-written temporaries and files whose insert never happened. */
  sweepOrphans(): void {
    const known = new Set((this.db.prepare('SELECT id FROM files').pluck().all() as string[]).map((id) => `${id}.jsonl`));
    for (const name of readdirSync(this.folder)) {
      if (!known.has(name)) rmSync(join(this.folder, name), { force: true });
    }
  }

  contentPath(id: string): string {
    return join(this.folder, `${id}.jsonl`);
  }

  async add(filename: string, purpose: FilePurpose, content: Uint8Array): Promise<StoredFile> {
    const file: StoredFile = { id: newFileId(), filename, purpose, bytes: content.byteLength, createdAt: unixNow() };
    const writer = await DurableFileWriter.create(this.contentPath(file.id));
    try {
      await writer.write(content);
      await writer.finish();
    } catch (err) {
      await writer.abandon();
      throw err;
    }
    insertFileRow(this.db, file);
    return file;
  }

  async get(id: string): Promise<StoredFile | undefined> {
    const row = this.db.prepare('SELECT id, filename, purpose, bytes, created_at FROM files WHERE id = ?').get(id) as FileRow | undefined;
    return row && toFile(row);
  }

  async list(query: FileListQuery): Promise<{ files: StoredFile[]; hasMore: boolean }> {
    const conditions: string[] = [];
    const params: (string | number)[] = [];
    if (query.purpose !== undefined) {
      conditions.push('purpose = ?');
      params.push(query.purpose);
    }
    if (query.after !== undefined) {
      // An unknown cursor matches nothing rather than restarting the listing.
      conditions.push(`seq ${query.order === 'desc' ? '<' : '>'} coalesce((SELECT seq FROM files WHERE id = ?), ${query.order === 'desc' ? '-1' : '9e18'})`);
      params.push(query.after);
    }
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const rows = this.db
      .prepare(`SELECT id, filename, purpose, bytes, created_at FROM files ${where} ORDER BY seq ${query.order === 'desc' ? 'DESC' : 'ASC'} LIMIT ?`)
      .all(...params, query.limit + 1) as FileRow[];
    return { files: rows.slice(0, query.limit).map(toFile), hasMore: rows.length > query.limit };
  }

  async remove(id: string): Promise<boolean> {
    const { changes } = this.db.prepare('DELETE FROM files WHERE id = ?').run(id);
    if (changes === 0) return false;
    await this.discardContent(id);
    return true;
  }

  readContent(id: string): Promise<Buffer> {
    return readFile(this.contentPath(id));
  }

  contentStream(id: string): Readable {
    return createReadStream(this.contentPath(id));
  }

  async contentWriter(id: string): Promise<FileContentWriter> {
    return DurableFileWriter.create(this.contentPath(id));
  }

  async discardContent(id: string): Promise<void> {
    rmSync(this.contentPath(id), { force: true });
    syncFolder(this.folder);
  }
}
