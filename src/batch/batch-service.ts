import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { AppEnv, InProcessBindings } from '../api/http/app-env.js';
import { BatchJobs, DEFAULT_MAX_FILE_BYTES } from './batch-jobs.js';
import { BatchExecutor, type BatchExecutorOptions } from './executor/batch-executor.js';
import { DEFAULT_MAX_BATCH_LINES } from './input/parse-batch-input.js';
import { BatchData } from './storage/batch-data.js';
import type { BatchLocation } from './storage/batch-data.js';

export interface BatchServiceOptions {
  /** --data-dir: the SQLite database and the files' bytes (when no PostgreSQL `database` is given). */
  dataDir: string;
  /** --database: a PostgreSQL URL shared by replicas, instead of the data directory's SQLite. */
  database?: string;
  /** How long a claimed line stays this server's without renewal (the executor's default if unset). */
  leaseMs?: number;
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
 * open() opens a SQLite database left by an earlier run (and locks it), so a data directory in
 * use by another server is an error at startup rather than at the first upload, and connects to
 * (and migrates) a PostgreSQL database, so a wrong URL is too.
 */
export class BatchService {
  readonly jobs: BatchJobs;
  private readonly data: BatchData;
  private executor: BatchExecutor | null = null;
  private stopped = false;

  constructor(private readonly options: BatchServiceOptions) {
    const location: BatchLocation = options.database === undefined ? { kind: 'sqlite', dataDir: options.dataDir } : { kind: 'postgres', url: options.database };
    this.data = new BatchData(location);
    this.jobs = new BatchJobs(
      this.data,
      {
        maxFileBytes: options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
        input: { maxLines: options.maxLines ?? DEFAULT_MAX_BATCH_LINES, maxBodyBytes: options.maxBodyBytes },
      },
      options.modelName,
    );
  }

  /** Opens what a server must check at startup (see the class comment). */
  async open(): Promise<void> {
    await this.data.open(false);
  }

  /** The data directory, or the PostgreSQL URL without its password. */
  get where(): string {
    return this.data.where;
  }

  /** Batch lines not answered yet, across every in_progress batch (of every replica); 0 before anything was stored. */
  async backlog(): Promise<number> {
    const stores = await this.data.open(false);
    return stores ? stores.batches.backlog() : 0;
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
      leaseMs: this.options.leaseMs,
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
    await this.data.close();
  }
}
