import { randomUUID } from 'node:crypto';
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
  /**
   * How long a claimed line stays this server's without renewal (renewed every third of it while
   * the server lives). After a crash another server (or this one restarted) runs the line once
   * the lease ran out. Default DEFAULT_LEASE_MS.
   */
  leaseMs?: number;
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

/**
 * A line's lease: long enough that a busy event loop or a slow database round trip never loses
 * one of a live server (it is renewed every third of it), short enough that a dead replica's
 * lines run elsewhere within a minute.
 */
export const DEFAULT_LEASE_MS = 30_000;

/** A line the executor has taken: queued, running, or waiting to be retried. */
interface ClaimedLine {
  line: PendingLine;
  abort: AbortController;
  serverErrors: number;
}

const claimKey = (batchId: string, index: number) => `${batchId}#${index}`;

/** Why an answer could not be stored, for the log: SQLite's code, PostgreSQL's SQLSTATE, or Node's. */
const storageCode = (err: Error) => (err as { code?: unknown }).code;

/**
 * Runs batches: validates new ones, feeds their pending lines through the endpoint with at most
 * `concurrency` in flight (a p-queue), stores each answer, and finalizes batches that end
 * (every line answered, cancelled, or past their window). Batches are served oldest first.
 *
 * Durability is the store's: the executor's own state (its claims, retries) is memory only, and
 * a line it runs is leased to it in the store (a lease it renews while it lives). Several
 * executors (replicas on one PostgreSQL database) therefore work one batch together, each line
 * leased to one of them at a time; after a crash the dead executor's leases run out and its lines
 * are claimed again, while a committed answer is never replaced.
 *
 * Back-pressure: a 429 or 503 answer means the server is busy (interactive traffic fills the
 * engine's queue) or not ready; the line is kept, the queue pauses for the backoff, and the same
 * line goes first when it resumes. Aborted lines (cancel, expiry) store nothing.
 */
export class BatchExecutor {
  private readonly queue: PQueue;
  private readonly claimed = new Map<string, ClaimedLine>();
  private readonly retries: ClaimedLine[] = [];
  private readonly finalizing = new Map<string, Promise<void>>();
  /** Batches whose input is being checked. */
  private readonly validating = new Map<string, Promise<void>>();
  private readonly backoff = new Backoff();
  private readonly now: () => number;
  private resumeTimer: NodeJS.Timeout | null = null;
  private checkTimer: NodeJS.Timeout | null = null;
  private leaseTimer: NodeJS.Timeout | null = null;
  /** This executor's name on its leases: unique per process start. */
  private readonly owner = randomUUID();
  private readonly leaseMs: number;
  private wakeUp: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private stopping = false;

  constructor(private readonly options: BatchExecutorOptions) {
    this.queue = new PQueue({ concurrency: options.concurrency });
    this.now = options.now ?? unixNow;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
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
    this.leaseTimer = setInterval(() => void this.renewLeases(), this.leaseMs / 3);
    this.leaseTimer.unref();
    this.options.logger.info({ owner: this.owner, leaseMs: this.leaseMs, database: this.options.data.where }, 'batch executor started');
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
  async cancel(batchId: string): Promise<void> {
    const stores = await this.options.data.open(false);
    if (stores) await this.end(stores, batchId, 'cancelled');
  }

  /**
   * Stops taking lines. Lines running finish or are cut off by the engine's drain (those stay
   * pending and run after a restart); batches being finalized finish.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    if (this.checkTimer) clearInterval(this.checkTimer);
    if (this.leaseTimer) clearInterval(this.leaseTimer);
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
        const stores = await this.options.data.open(false);
        claim = stores ? await this.nextClaim(stores) : undefined;
      } catch (err) {
        // A storage failure (disk full, I/O error, database unreachable) must not end the loop:
        // try again later. A claim writes its lease, so a full disk can fail here too.
        this.options.logger.error(
          { err, code: storageCode(err as Error), ...this.whereLogged(), retryInMs: STORAGE_RETRY_MS },
          'the batch executor could not read or claim its work (is the data directory full or read-only, or the database unreachable?); retrying',
        );
        await this.idle(STORAGE_RETRY_MS);
        continue;
      }
      if (!claim) {
        await this.idle(CHECK_INTERVAL_MS);
        continue;
      }
      const taken = claim;
      this.queue.add(() => this.runClaim(taken)).catch((err: Error) => this.lineNotStored(taken, err));
    }
  }

  /** Waits `ms`, or less when woken (new work, stop). */
  private idle(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
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
  private async nextClaim(stores: BatchStores): Promise<ClaimedLine | undefined> {
    await this.housekeeping(stores);
    while (this.retries.length > 0) {
      const claim = this.retries.shift()!;
      if (this.claimed.get(claimKey(claim.line.batchId, claim.line.index)) === claim && !claim.abort.signal.aborted) return claim;
    }
    for (const batch of await stores.batches.inStatus('in_progress')) {
      // Lines of ours in flight are leased to us too: excluded, so that only a line of ours not
      // in flight (its answer could not be stored) is claimed again.
      const inFlight = [...this.claimed.values()].filter((c) => c.line.batchId === batch.id).map((c) => c.line.index);
      const line = await stores.batches.claimLine(batch.id, this.owner, this.leaseMs, inFlight);
      if (!line || this.stopping) continue;
      const claim: ClaimedLine = { line, abort: new AbortController(), serverErrors: 0 };
      this.claimed.set(claimKey(line.batchId, line.index), claim);
      return claim;
    }
    return undefined;
  }

  private checkBatches(): void {
    if (this.stopping) return;
    this.options.data
      .open(false)
      .then((stores) => stores && this.housekeeping(stores))
      .catch((err: Error) => this.options.logger.error({ err }, 'checking the batches failed; retrying at the next check'));
  }

  /**
   * Keeps the leases of the lines in flight. A renewal that fails (database unreachable) is
   * logged; the next one may still come before the leases run out.
   */
  private async renewLeases(): Promise<void> {
    if (this.claimed.size === 0 || this.stopping) return;
    try {
      const stores = await this.options.data.open(false);
      await stores?.batches.renewLeases(this.owner, this.leaseMs);
    } catch (err) {
      this.options.logger.warn({ err }, 'renewing the batch line leases failed; retrying');
    }
  }

  private async housekeeping(stores: BatchStores): Promise<void> {
    const now = this.now();
    for (const batch of await stores.batches.inStatus('validating', 'in_progress', 'cancelling', 'finalizing')) {
      if (batch.ending !== null) await this.finalize(stores, batch.id);
      else if (batch.status === 'cancelling') await this.end(stores, batch.id, 'cancelled');
      else if (now >= batch.times.expiresAt) await this.end(stores, batch.id, 'expired');
      else if (batch.status === 'validating') this.validate(stores, batch);
      // Every line answered (the counters move with each answer, in its transaction): a crash
      // after the last answer and before the ending was recorded leaves exactly this.
      else if (batch.status === 'in_progress' && batch.counts.completed + batch.counts.failed === batch.counts.total) await this.end(stores, batch.id, 'completed');
    }
  }

  /** Validates a batch in the background (once at a time per batch); new lines are looked for when it is done. */
  private validate(stores: BatchStores, batch: StoredBatch): void {
    if (this.validating.has(batch.id)) return;
    const done = validateBatch(stores, batch, this.options.inputLimits)
      .catch(async (err: Error) => {
        this.options.logger.error({ err, batchId: batch.id }, 'validating a batch failed');
        await stores.batches.failValidation(batch.id, [{ code: 'server_error', line: null, message: 'the input file could not be read', param: null }]);
      })
      .then(async () => {
        const after = (await stores.batches.get(batch.id))!;
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
    const stores = (await this.options.data.open(false))!;
    let committed: boolean;
    try {
      committed = await stores.batches.commitLine(line.batchId, line.index, attempt.answer);
    } finally {
      this.release(claim);
    }
    if (!committed) return;
    this.options.onLineAnswered?.(line.batchId);
    const batch = await stores.batches.get(line.batchId);
    if (batch?.status === 'in_progress' && batch.counts.completed + batch.counts.failed === batch.counts.total) await this.end(stores, batch.id, 'completed');
  }

  /**
   * A line's answer could not be committed: the store threw (SQLITE_FULL or an I/O error when the
   * disk is full, SQLITE_READONLY when the directory turned read-only, a PostgreSQL error or lost
   * connection). The transaction rolled back, so the line is still pending in the database and
   * still leased to this executor: the next claim takes it again (it is no longer in flight), new
   * lines pause for STORAGE_RETRY_MS, and the batch goes on by itself once the database takes
   * writes again (or after a restart), every line still answered exactly once.
   */
  private lineNotStored(claim: ClaimedLine, err: Error): void {
    const { batchId, customId } = claim.line;
    this.release(claim);
    this.options.logger.error(
      { err, code: storageCode(err), batchId, customId, ...this.whereLogged(), retryInMs: STORAGE_RETRY_MS },
      'a batch answer could not be stored (is the data directory full or read-only, or the database unreachable?); the line stays pending and the batch pauses, then retries',
    );
    this.pauseFor(() => STORAGE_RETRY_MS);
  }

  /** Where the batches are, as log fields: the data directory, or the database URL without its password. */
  private whereLogged(): { dataDir: string } | { database: string } {
    return this.options.data.location.kind === 'sqlite' ? { dataDir: this.options.data.where } : { database: this.options.data.where };
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
  private async end(stores: BatchStores, batchId: string, ending: BatchEnding): Promise<void> {
    for (const [key, claim] of this.claimed) {
      if (claim.line.batchId !== batchId) continue;
      claim.abort.abort();
      this.claimed.delete(key);
    }
    const reason = ending === 'expired' ? 'batch_expired' : 'batch_cancelled';
    if (await stores.batches.beginEnding(batchId, ending, (line) => unansweredLine(line.customId, reason))) {
      this.options.logger.info({ batchId, ending }, 'batch ending');
    }
    await this.finalize(stores, batchId);
  }

  /** Writes the files of a batch that has an ending, once at a time per batch. */
  private async finalize(stores: BatchStores, batchId: string): Promise<void> {
    if (this.finalizing.has(batchId)) return;
    const batch = await stores.batches.get(batchId);
    if (!batch || batch.ending === null || batch.status === batch.ending || this.finalizing.has(batchId)) return;
    const done = finalizeBatch(stores, batch)
      .then(async () => {
        const ended = (await stores.batches.get(batchId))!;
        this.options.logger.info({ batchId, status: ended.status, counts: ended.counts }, 'batch finished');
        this.options.onBatchEnded?.(ended);
      })
      .catch((err: Error) => this.options.logger.error({ err, batchId }, 'writing the batch files failed; retrying at the next check'))
      .finally(() => this.finalizing.delete(batchId));
    this.finalizing.set(batchId, done);
  }
}
