import type { Readable } from 'node:stream';

/** `batch`: uploaded input; `batch_output`: a batch's output or error file (OpenAI's names). */
export type FilePurpose = 'batch' | 'batch_output';

export interface StoredFile {
  id: string;
  filename: string;
  purpose: FilePurpose;
  bytes: number;
  /** Unix seconds. */
  createdAt: number;
}

export interface FileListQuery {
  purpose?: string;
  /** Only files listed after this id in the chosen order. */
  after?: string;
  limit: number;
  order: 'asc' | 'desc';
}

/**
 * The bytes of a file being written (a batch's output): invisible to readers until a row names
 * the file, which happens only after finish() resolved.
 */
export interface FileContentWriter {
  write(text: string): Promise<void>;
  /** Makes the bytes durable; returns their count. */
  finish(): Promise<number>;
  /** Gives up; what was written is removed now or by the next sweep. */
  abandon(): Promise<void>;
}

/**
 * Files: metadata rows and their bytes. Both implementations keep one order so a crash never
 * leaves a row without its bytes: bytes first, then the row; on delete the row first. What a
 * crash can leave is bytes no row names, which the store sweeps when it opens.
 */
export interface FileStore {
  /** Stores an upload: bytes durable, then its row. */
  add(filename: string, purpose: FilePurpose, content: Uint8Array): Promise<StoredFile>;
  get(id: string): Promise<StoredFile | undefined>;
  /** A page of files in creation order (`desc`: newest first), and whether more follow. */
  list(query: FileListQuery): Promise<{ files: StoredFile[]; hasMore: boolean }>;
  /** Deletes the row, then the bytes. False if there was no such file. */
  remove(id: string): Promise<boolean>;
  /** The whole content (validation reads input files at once, as parsing needs them whole). */
  readContent(id: string): Promise<Buffer>;
  /** The content as a stream, never held in memory whole (downloads of large output files). */
  contentStream(id: string): Readable;
  /** A writer for the bytes of a file whose row finish() (of the batch store) will insert. */
  contentWriter(id: string): Promise<FileContentWriter>;
  /** Removes bytes written for a file whose row was never inserted (a lost finalization race). */
  discardContent(id: string): Promise<void>;
}

/** A row of the `files` table, as both stores' databases return it. */
export interface FileRow {
  id: string;
  filename: string;
  purpose: FilePurpose;
  bytes: number;
  created_at: number;
}

export const toFile = (row: FileRow): StoredFile => ({ id: row.id, filename: row.filename, purpose: row.purpose, bytes: row.bytes, createdAt: row.created_at });
