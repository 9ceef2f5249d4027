import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import type { BatchInputLimits } from '../input/parse-batch-input.js';
import { unansweredLine } from '../output/output-line.js';
import { finalizeBatch } from '../output/write-batch-files.js';
import type { BatchData, BatchStores } from '../storage/batch-data.js';
import type { BatchEnding, PendingLine, StoredBatch } from '../storage/batch-store.js';
import { unixNow } from '../unix-time.js';
import { Backoff } from './backoff.js';
import { attemptLine, type LineRequestSender } from './run-line.js';
import { validateBatch } from './validate-batch.js';

export interface BatchExecutorOptions {
  data: BatchData;
  send: LineRequestSender;
  /** Most lines in flight at once (running in the engine or waiting in its queue). */
  concurrency: number;
  inputLimits: BatchInputLimits;
  logger: Logger;
  /** Unix seconds; tests move time to expire batches. */
  now?: () => number;
  /** After a line's answer is committed. */
  onLineAnswered?: (batchId: string) => void;
  /** After a batch reached a terminal status (completed, expired, cancelled or failed). */
  onBatchEnded?: (batch: StoredBatch) => void;
}

/** A 500 is stored as the line's answer once it has come back this many times. */
const SERVER_ERROR_ATTEMPTS = 3;
/**
 * How often the executor checks its batches (new ones to validate, windows that expired) and an
 * idle executor looks for lines, whatever it was told.
 */
const CHECK_INTERVAL_MS = 1000;
/**
 * After an answer could not be stored (data directory full or read-only), new lines wait this
 * long: running them would only spend the engine on answers that cannot be kept either.
 */
const STORAGE_RETRY_MS = 5000;

/** A line the executor has taken: queued, running, or waiting to be retried. */
interface ClaimedLine {
  line: PendingLine;
  abort: AbortController;
  serverErrors: number;
}

const claimKey = (batchId: string, index: number) => `${batchId}#${index}`;

/**
 * Runs batches: validates new ones, feeds their pending lines through the endpoint with at most
 * `concurrency` in flight (a p-queue), stores each answer, and finalizes batches that end
 * (every line answered, cancelled, or past their window). Batches are served oldest first.
 *
 * Durability is the store's: the executor's own state (which lines it has claimed, cursors,
 * retries) is memory only. A line counts as in flight only in memory, so after a crash every
 * line without a committed answer is pending again and runs again, and a committed one never does.
 *
 * Back-pressure: a 429 or 503 answer means the server is busy (interactive traffic fills the
 * engine's queue) or not ready; the line is kept, the queue pauses for the backoff, and the same
 * line goes first when it resumes. Aborted lines (cancel, expiry) store nothing.
 */
export class BatchExecutor {
  private readonly queue: PQueue;
  private readonly claimed = new Map<string, ClaimedLine>();
  private readonly retries: ClaimedLine[] = [];
  /** Per in_progress batch: lines before this index are claimed or answered. */
  private readonly cursors = new Map<string, number>();
  private readonly finalizing = new Map<string, Promise<void>>();
  /** Batches whose input is being checked. */
  private readonly validating = new Map<string, Promise<void>>();
  private readonly backoff = new Backoff();
  private readonly now: () => number;
  private resumeTimer: NodeJS.Timeout | null = null;
  private checkTimer: NodeJS.Timeout | null = null;
  private wakeUp: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private stopping = false;

  constructor(private readonly options: BatchExecutorOptions) {
    this.queue = new PQueue({ concurrency: options.concurrency });
    this.now = options.now ?? unixNow;
  }

  /** Lines claimed and not yet answered or released. */
  get inFlight(): number {
    return this.claimed.size;
  }

  /** Starts working: resumes whatever the data directory holds from before. */
  start(): void {
    if (this.loop) return;
    // Batches are checked on a timer too, not only between lines: a window can expire while
    // every slot is held by long lines.
    this.checkTimer = setInterval(() => this.checkBatches(), CHECK_INTERVAL_MS);
    this.checkTimer.unref();
    this.loop = this.run().catch((err: Error) => this.options.logger.error({ err }, 'the batch executor stopped on an error'));
  }

  /**
   * Something changed (a batch was created, time moved): check the batches and look for lines
   * now rather than at the next interval. The check runs after the caller's turn, so a request
   * that creates a batch is answered before its file is read.
   */
  notify(): void {
    setImmediate(() => {
      this.checkBatches();
      this.wakeUp?.();
    });
  }

  /**
   * A cancel was recorded (the batch is `cancelling`): aborts its lines in flight (their engine
   * requests are cancelled and free their rows), and finalizes it as cancelled. Answers committed
   * before stay in its output.
   */
  cancel(batchId: string): void {
    const stores = this.options.data.open(false);
    if (stores) this.end(stores, batchId, 'cancelled');
  }

  /**
   * Stops taking lines. Lines running finish or are cut off by the engine's drain (those stay
   * pending and run after a restart); batches being finalized finish.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.queue.clear();
    this.wakeUp?.();
    await this.loop;
    await this.queue.onIdle();
    await Promise.all([...this.validating.values(), ...this.finalizing.values()]);
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      // At most one claimed line waits for a free slot: claims stay close to what runs.
      await this.queue.onSizeLessThan(1);
      // Lines answered at once (a 404 for a wrong model never reaches the engine) resolve as
      // microtasks only: yield a turn so HTTP requests and timers are never starved meanwhile.
      await setImmediatePromise();
      if (this.stopping) break;
      let claim: ClaimedLine | undefined;
      try {
        const stores = this.options.data.open(false);
        claim = stores ? this.nextClaim(stores) : undefined;
      } catch (err) {
        // A storage failure (disk full, I/O error) must not end the loop: try again later.
        this.options.logger.error({ err }, 'the batch executor could not read its work; retrying');
      }
      if (!claim) {
        await this.idle();
        continue;
      }
      const taken = claim;
      this.queue.add(() => this.runClaim(taken)).catch((err: Error) => this.lineNotStored(taken, err));
    }
  }

  private idle(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, CHECK_INTERVAL_MS);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    }).then(() => {
      this.wakeUp = null;
    });
  }

  /** Housekeeping (validation, expiry, endings), then the next line to run: a retry first, else the oldest batch's next pending line. */
  private nextClaim(stores: BatchStores): ClaimedLine | undefined {
    this.housekeeping(stores);
    while (this.retries.length > 0) {
      const claim = this.retries.shift()!;
      if (this.claimed.get(claimKey(claim.line.batchId, claim.line.index)) === claim && !claim.abort.signal.aborted) return claim;
    }
    for (const batch of stores.batches.inStatus('in_progress')) {
      let line = stores.batches.nextPendingLine(batch.id, this.cursors.get(batch.id) ?? 0);
      // A cursor moved back after a storage failure passes lines still in flight: skip them.
      while (line && this.claimed.has(claimKey(line.batchId, line.index))) line = stores.batches.nextPendingLine(batch.id, line.index + 1);
      if (!line) continue;
      this.cursors.set(batch.id, line.index + 1);
      const claim: ClaimedLine = { line, abort: new AbortController(), serverErrors: 0 };
      this.claimed.set(claimKey(line.batchId, line.index), claim);
      return claim;
    }
    return undefined;
  }

  private checkBatches(): void {
    if (this.stopping) return;
    try {
      const stores = this.options.data.open(false);
      if (stores) this.housekeeping(stores);
    } catch (err) {
      this.options.logger.error({ err }, 'checking the batches failed; retrying at the next check');
    }
  }

  private housekeeping(stores: BatchStores): void {
    const now = this.now();
    for (const batch of stores.batches.inStatus('validating', 'in_progress', 'cancelling', 'finalizing')) {
      if (batch.ending !== null) this.finalize(stores, batch.id);
      else if (batch.status === 'cancelling') this.end(stores, batch.id, 'cancelled');
      else if (now >= batch.times.expiresAt) this.end(stores, batch.id, 'expired');
      else if (batch.status === 'validating') this.validate(stores, batch);
      // Every line answered (the counters move with each answer, in its transaction): a crash
      // after the last answer and before the ending was recorded leaves exactly this.
      else if (batch.status === 'in_progress' && batch.counts.completed + batch.counts.failed === batch.counts.total) this.end(stores, batch.id, 'completed');
    }
  }

  /** Validates a batch in the background (once at a time per batch); new lines are looked for when it is done. */
  private validate(stores: BatchStores, batch: StoredBatch): void {
    if (this.validating.has(batch.id)) return;
    const done = validateBatch(stores, batch, this.options.inputLimits)
      .catch((err: Error) => {
        this.options.logger.error({ err, batchId: batch.id }, 'validating a batch failed');
        stores.batches.failValidation(batch.id, [{ code: 'server_error', line: null, message: 'the input file could not be read', param: null }]);
      })
      .then(() => {
        const after = stores.batches.get(batch.id)!;
        this.options.logger.info({ batchId: batch.id, status: after.status, lines: after.counts.total }, 'batch validated');
        if (after.status === 'failed') this.options.onBatchEnded?.(after);
        this.wakeUp?.();
      })
      .catch((err: Error) => this.options.logger.error({ err, batchId: batch.id }, 'recording a validation failed'))
      .finally(() => this.validating.delete(batch.id));
    this.validating.set(batch.id, done);
  }

  private async runClaim(claim: ClaimedLine): Promise<void> {
    const { line, abort } = claim;
    if (abort.signal.aborted) return this.release(claim);
    const attempt = await attemptLine(this.options.send, line, abort.signal);
    if (abort.signal.aborted) return this.release(claim);
    if (attempt.kind === 'busy' || (attempt.kind === 'server_error' && ++claim.serverErrors < SERVER_ERROR_ATTEMPTS)) {
      if (this.stopping) return this.release(claim);
      this.retries.push(claim);
      const retryAfterMs = attempt.kind === 'busy' ? attempt.retryAfterMs : null;
      this.pauseFor(() => this.backoff.next(retryAfterMs));
      return;
    }
    this.backoff.reset();
    const stores = this.options.data.open(false)!;
    let committed: boolean;
    try {
      committed = stores.batches.commitLine(line.batchId, line.index, attempt.answer);
    } finally {
      this.release(claim);
    }
    if (!committed) return;
    this.options.onLineAnswered?.(line.batchId);
    const batch = stores.batches.get(line.batchId);
    if (batch?.status === 'in_progress' && batch.counts.completed + batch.counts.failed === batch.counts.total) this.end(stores, batch.id, 'completed');
  }

  /**
   * A line's answer could not be committed: the store threw (SQLITE_FULL or an I/O error when the
   * disk is full, SQLITE_READONLY when the directory turned read-only). The transaction rolled
   * back, so the line is still pending in the database: the cursor moves back to it, new lines
   * pause for STORAGE_RETRY_MS, and the batch goes on by itself once the disk takes writes again
   * (or after a restart), every line still answered exactly once.
   */
  private lineNotStored(claim: ClaimedLine, err: Error): void {
    const { batchId, index, customId } = claim.line;
    this.release(claim);
    const cursor = this.cursors.get(batchId);
    if (cursor !== undefined) this.cursors.set(batchId, Math.min(cursor, index));
    const code = (err as { code?: unknown }).code;
    this.options.logger.error(
      { err, code, batchId, customId, dataDir: this.options.data.dir, retryInMs: STORAGE_RETRY_MS },
      'a batch answer could not be stored (is the data directory full or read-only?); the line stays pending and the batch pauses, then retries',
    );
    this.pauseFor(() => STORAGE_RETRY_MS);
  }

  private release(claim: ClaimedLine): void {
    const key = claimKey(claim.line.batchId, claim.line.index);
    if (this.claimed.get(key) === claim) this.claimed.delete(key);
  }

  /** Holds new lines back for `ms`; refusals during a hold do not extend or escalate it. */
  private pauseFor(backoffMs: () => number): void {
    if (this.resumeTimer) return;
    this.queue.pause();
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = null;
      if (!this.stopping) this.queue.start();
    }, backoffMs());
  }

  /**
   * Ends a batch: aborts and forgets its claimed lines, records the ending (answering the lines
   * still pending as cancelled or expired) and finalizes it.
   */
  private end(stores: BatchStores, batchId: string, ending: BatchEnding): void {
    for (const [key, claim] of this.claimed) {
      if (claim.line.batchId !== batchId) continue;
      claim.abort.abort();
      this.claimed.delete(key);
    }
    this.cursors.delete(batchId);
    const reason = ending === 'expired' ? 'batch_expired' : 'batch_cancelled';
    if (stores.batches.beginEnding(batchId, ending, (line) => unansweredLine(line.customId, reason))) {
      this.options.logger.info({ batchId, ending }, 'batch ending');
    }
    this.finalize(stores, batchId);
  }

  /** Writes the files of a batch that has an ending, once at a time per batch. */
  private finalize(stores: BatchStores, batchId: string): void {
    if (this.finalizing.has(batchId)) return;
    const batch = stores.batches.get(batchId);
    if (!batch || batch.ending === null || batch.status === batch.ending) return;
    const done = finalizeBatch(stores, batch)
      .then(() => {
        const ended = stores.batches.get(batchId)!;
        this.options.logger.info({ batchId, status: ended.status, counts: ended.counts }, 'batch finished');
        this.options.onBatchEnded?.(ended);
      })
      .catch((err: Error) => this.options.logger.error({ err, batchId }, 'writing the batch files failed; retrying at the next check'))
      .finally(() => this.finalizing.delete(batchId));
    this.finalizing.set(batchId, done);
  }
}
