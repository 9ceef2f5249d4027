import type { Readable } from 'node:stream';
import { ServeError } from '../errors.js';
import type { BatchEndpoint } from './batch-endpoints.js';
import { parseBatchInput, type BatchInputLimits } from './input/parse-batch-input.js';
import type { BatchData, BatchStores } from './storage/batch-data.js';
import type { StoredBatch } from './storage/batch-store.js';
import type { FileListQuery, StoredFile } from './storage/file-store.js';

/** OpenAI's largest batch input file. */
export const DEFAULT_MAX_FILE_BYTES = 200 * 1024 * 1024;
/** The one completion window OpenAI offers, and how long it is. */
const COMPLETION_WINDOWS: Record<string, number> = { '24h': 24 * 3600 };

export interface BatchLimits {
  /** Largest upload, in bytes (--max-file-bytes). */
  maxFileBytes: number;
  input: BatchInputLimits;
}

/** What the jobs tell whoever runs the batches. */
export interface BatchRunner {
  /** A batch was created: look for work. */
  notify(): void;
  /** A batch is now `cancelling`: stop its lines and finalize it. */
  cancel(batchId: string): Promise<void>;
}

export interface NewBatch {
  inputFileId: string;
  endpoint: BatchEndpoint;
  completionWindow: string;
  metadata: Record<string, string> | null;
}

/**
 * The Files and Batch API's operations, as the routes call them, over the data directory: checks
 * (upload validation, purposes, what can be cancelled), the 404s, and telling the runner. Nothing
 * here knows HTTP shapes. Reads on a data directory that has no database yet see nothing; the
 * first upload creates it.
 */
export class BatchJobs {
  private runner: BatchRunner | null = null;

  constructor(
    readonly data: BatchData,
    readonly limits: BatchLimits,
    /** The served model's name, recorded as each batch's `model`. */
    private readonly modelName: string,
  ) {}

  attachRunner(runner: BatchRunner): void {
    this.runner = runner;
  }

  /** Checks every line (a BatchInputError names the first bad one), then stores the file. */
  async uploadFile(filename: string, content: Uint8Array): Promise<StoredFile> {
    if (content.byteLength > this.limits.maxFileBytes) {
      throw new ServeError('request_too_large', `the file is ${content.byteLength} bytes, more than the ${this.limits.maxFileBytes}-byte limit`, {
        param: 'file',
        code: 'file_too_large',
      });
    }
    await parseBatchInput(content, this.limits.input);
    return (await this.stores(true)).files.add(filename, 'batch', content);
  }

  async listFiles(query: FileListQuery): Promise<{ files: StoredFile[]; hasMore: boolean }> {
    return (await (await this.data.open(false))?.files.list(query)) ?? { files: [], hasMore: false };
  }

  async getFile(id: string): Promise<StoredFile> {
    const file = await (await this.data.open(false))?.files.get(id);
    if (!file) throw new ServeError('not_found_error', `No such file: ${id}`, { param: 'file_id', code: 'file_not_found' });
    return file;
  }

  /** The file and its bytes as a stream. */
  async fileContent(id: string): Promise<{ file: StoredFile; content: Readable }> {
    const file = await this.getFile(id);
    return { file, content: (await this.stores(false)).files.contentStream(id) };
  }

  async deleteFile(id: string): Promise<void> {
    if (!(await (await this.data.open(false))?.files.remove(id))) throw new ServeError('not_found_error', `No such file: ${id}`, { param: 'file_id', code: 'file_not_found' });
  }

  /** A new batch (status validating) over an uploaded batch file; the runner takes it from there. */
  async createBatch(input: NewBatch): Promise<StoredBatch> {
    const file = await this.getFile(input.inputFileId);
    if (file.purpose !== 'batch') {
      throw new ServeError('invalid_request_error', `file ${file.id} has purpose ${file.purpose}; a batch needs a file uploaded with purpose batch`, {
        param: 'input_file_id',
        code: 'invalid_value',
      });
    }
    const batch = await (await this.stores(false)).batches.create({
      endpoint: input.endpoint,
      inputFileId: input.inputFileId,
      completionWindow: input.completionWindow,
      windowSeconds: COMPLETION_WINDOWS[input.completionWindow],
      model: this.modelName,
      metadata: input.metadata,
    });
    this.runner?.notify();
    return batch;
  }

  async getBatch(id: string): Promise<StoredBatch> {
    const batch = await (await this.data.open(false))?.batches.get(id);
    if (!batch) throw new ServeError('not_found_error', `No such batch: ${id}`, { param: 'batch_id', code: 'batch_not_found' });
    return batch;
  }

  async listBatches(after: string | undefined, limit: number): Promise<{ batches: StoredBatch[]; hasMore: boolean }> {
    return (await (await this.data.open(false))?.batches.list(after, limit)) ?? { batches: [], hasMore: false };
  }

  /**
   * Cancels a batch that is validating or in progress (it turns `cancelling`, then `cancelled`
   * with the answers so far). Cancelling one already cancelling or cancelled changes nothing;
   * one that has otherwise ended is a 400.
   */
  async cancelBatch(id: string): Promise<StoredBatch> {
    const before = await this.getBatch(id);
    if (before.status === 'cancelling' || before.status === 'cancelled') return before;
    if (before.status !== 'validating' && before.status !== 'in_progress') {
      throw new ServeError('invalid_request_error', `batch ${id} is ${before.status} and can no longer be cancelled`, { param: 'batch_id', code: 'batch_not_cancellable' });
    }
    const batches = (await this.stores(false)).batches;
    const after = (await batches.requestCancel(id))!;
    if (after.status === 'cancelling') await this.runner?.cancel(id);
    return (await batches.get(id))!;
  }

  private async stores(create: boolean): Promise<BatchStores> {
    const stores = await this.data.open(create);
    if (!stores) throw new Error('the batch database is not open');
    return stores;
  }
}
