import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { AppEnv, InProcessBindings } from '../api/http/app-env.js';
import { BatchJobs, DEFAULT_MAX_FILE_BYTES } from './batch-jobs.js';
import { BatchExecutor, type BatchExecutorOptions } from './executor/batch-executor.js';
import { DEFAULT_MAX_BATCH_LINES } from './input/parse-batch-input.js';
import { BatchData } from './storage/batch-data.js';

export interface BatchServiceOptions {
  /** --data-dir: the SQLite database and the files' bytes. */
  dataDir: string;
  /** Largest upload (default 200 MiB, OpenAI's). */
  maxFileBytes?: number;
  /** Most requests per file (default 50,000, OpenAI's). */
  maxLines?: number;
  /** The HTTP endpoints' body limit, which each line's body must also keep. */
  maxBodyBytes: number;
  /** The served model's name, recorded on each batch. */
  modelName: string;
  /** Most lines in flight at once. */
  concurrency: number;
  /** Sent with every line when the API needs a key. */
  apiKey?: string;
  logger: Logger;
  onLineAnswered?: BatchExecutorOptions['onLineAnswered'];
  onBatchEnded?: BatchExecutorOptions['onBatchEnded'];
}

/** The part of a Hono app the executor calls: in-process requests with an environment. */
type InProcessApp = Pick<Hono<AppEnv>, 'request'>;

/**
 * The Batch API's composition: the data directory, the jobs the routes call, and (once the model
 * is loaded) the executor that runs lines through the app in-process at batch priority.
 * A database left by an earlier run is opened (and locked) at once, so a data directory in use
 * by another server is an error at startup rather than at the first upload.
 */
export class BatchService {
  readonly jobs: BatchJobs;
  private readonly data: BatchData;
  private executor: BatchExecutor | null = null;
  private stopped = false;

  constructor(private readonly options: BatchServiceOptions) {
    this.data = new BatchData(options.dataDir);
    this.data.open(false);
    this.jobs = new BatchJobs(
      this.data,
      {
        maxFileBytes: options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
        input: { maxLines: options.maxLines ?? DEFAULT_MAX_BATCH_LINES, maxBodyBytes: options.maxBodyBytes },
      },
      options.modelName,
    );
  }

  get dataDir(): string {
    return this.data.dir;
  }

  /** Lines the executor has in flight (0 before start). */
  get inFlight(): number {
    return this.executor?.inFlight ?? 0;
  }

  /** Starts running batches (those left by an earlier run first) through `app`. */
  start(app: InProcessApp): void {
    // A model that finishes loading after a stop (SIGTERM while loading) starts nothing.
    if (this.executor || this.stopped) return;
    const auth: Record<string, string> = this.options.apiKey === undefined ? {} : { authorization: `Bearer ${this.options.apiKey}` };
    const env: InProcessBindings = { priority: 'batch' };
    this.executor = new BatchExecutor({
      data: this.data,
      send: async (url, init) => app.request(url, { ...init, headers: { ...(init.headers as Record<string, string>), ...auth } }, env),
      concurrency: this.options.concurrency,
      inputLimits: this.jobs.limits.input,
      logger: this.options.logger,
      onLineAnswered: this.options.onLineAnswered,
      onBatchEnded: this.options.onBatchEnded,
    });
    this.jobs.attachRunner(this.executor);
    this.executor.start();
  }

  /**
   * Stops taking lines; resolves once running lines have finished or been cut off (by the
   * engine's drain, which the caller runs alongside) and the database is closed.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.executor?.stop();
    this.data.close();
  }
}
