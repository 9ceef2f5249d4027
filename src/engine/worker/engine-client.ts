import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { requestTimedOut, ServeError } from '../../errors.js';
import type { EngineConfig } from '../engine-config.js';
import type { EngineInfo } from '../engine-info.js';
import type { EngineEvent, GenerationRequest } from '../generation.js';
import type { StepReport } from '../step-report.js';
import { EventChannel } from './event-channel.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { siblingModule, spawnModuleWorker } from './spawn-worker.js';

export type EngineState = 'ready' | 'draining' | 'stopped' | 'failed';

/** setTimeout's longest delay (about 24.8 days); a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface EngineClientOptions {
  /** Requests allowed to wait for a row beyond those running; more get 429. Default 4 * maxSeqs. */
  maxWaiting?: number;
  /**
   * Admission places held for an in-process client of known concurrency (the batch executor's
   * lines in flight), added to maxWaiting so that its requests never take the room interactive
   * ones have before a 429. Default 0.
   */
  reservedSlots?: number;
}

/**
 * The main thread's handle on the engine worker: submits requests, streams their events back,
 * bounds the admission queue, and relays each step's report to whoever watches (metrics).
 */
export class EngineClient {
  readonly info: EngineInfo;
  private readonly worker: Worker;
  private readonly channels = new Map<string, EventChannel<EngineEvent>>();
  /** The timeout timers of requests submitted with one; a request leaves both maps together (forget). */
  private readonly deadlines = new Map<string, NodeJS.Timeout>();
  private readonly capacity: number;
  private readonly steps = new EventEmitter();
  private currentState: EngineState = 'ready';
  private fatal: ServeError | undefined;

  private constructor(worker: Worker, info: EngineInfo, options: EngineClientOptions) {
    this.worker = worker;
    this.info = info;
    this.capacity = info.maxSeqs + (options.maxWaiting ?? 4 * info.maxSeqs) + (options.reservedSlots ?? 0);
    worker.on('message', (message: FromWorker) => this.receive(message));
    worker.on('error', (err) => this.failAll(new ServeError('server_error', `engine worker crashed: ${err.message}`, { code: 'engine_error' })));
    worker.on('exit', () => {
      if (this.currentState !== 'stopped') this.failAll(new ServeError('service_unavailable', 'the engine stopped', { code: 'engine_stopped' }));
    });
  }

  /** Starts the worker and resolves once the model is loaded (rejects with the load error). */
  static async start(config: EngineConfig, options: EngineClientOptions = {}): Promise<EngineClient> {
    const worker = spawnModuleWorker(siblingModule(import.meta.url, 'engine-worker'), { workerData: config });
    let onMessage: (message: FromWorker) => void = () => {};
    let onError: (err: Error) => void = () => {};
    let onExit: (code: number) => void = () => {};
    try {
      const info = await new Promise<EngineInfo>((resolve, reject) => {
        onMessage = (message) => {
          if (message.type === 'ready') resolve(message.info);
          else if (message.type === 'fatal') reject(ServeError.fromJSON(message.error));
        };
        onError = reject;
        onExit = (code) => reject(new Error(`the engine worker exited with code ${code} while loading`));
        worker.on('message', onMessage);
        worker.on('error', onError);
        worker.on('exit', onExit);
      });
      return new EngineClient(worker, info, options);
    } catch (err) {
      await worker.terminate();
      throw err;
    } finally {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    }
  }

  get state(): EngineState {
    return this.currentState;
  }

  /** Requests submitted and not yet finished. */
  get inFlight(): number {
    return this.channels.size;
  }

  /** Calls `listener` with every step's report (on the main thread, after the step). */
  onStep(listener: (report: StepReport) => void): void {
    this.steps.on('step', listener);
  }

  /**
   * Calls `listener` with the last event of every request the engine ran: `done` (usage, timings,
   * finish reasons) or `error`, also for requests whose caller has gone.
   */
  onRequestEnd(listener: (event: Extract<EngineEvent, { type: 'done' | 'error' }>) => void): void {
    this.steps.on('request-end', listener);
  }

  /**
   * Submits a request. Throws at once (before any event) when the engine is not accepting
   * (503) or the queue is full (429), so callers can answer with a plain HTTP error. The stream
   * ends after the request's `done` event and throws a ServeError if the request fails. Leaving
   * the loop early, or aborting `signal`, aborts the request and frees its KV row. With
   * `timeoutMs`, a request not done by then (queue wait and generation together) is aborted the
   * same way and its stream throws a 504 `request_timeout`.
   */
  submit(request: GenerationRequest, signal?: AbortSignal, timeoutMs?: number): AsyncIterable<EngineEvent> {
    if (this.currentState !== 'ready') {
      throw this.fatal ?? new ServeError('service_unavailable', `the engine is ${this.currentState}`, { code: 'not_ready', retryAfterSeconds: 5 });
    }
    if (this.channels.size >= this.capacity) {
      throw new ServeError('rate_limit_error', `the server is at capacity (${this.capacity} requests in flight); retry later`, {
        code: 'queue_full',
        retryAfterSeconds: Math.min(30, Math.max(1, Math.round(this.channels.size / this.info.maxSeqs))),
      });
    }
    if (this.channels.has(request.id)) throw new ServeError('invalid_request_error', `request id ${request.id} is already in flight`);
    const channel = new EventChannel<EngineEvent>(() => this.cancel(request.id));
    this.channels.set(request.id, channel);
    if (timeoutMs !== undefined && timeoutMs > 0) {
      const timedOut = () => this.cancel(request.id, requestTimedOut(timeoutMs / 1000));
      this.deadlines.set(request.id, setTimeout(timedOut, Math.min(timeoutMs, MAX_TIMER_MS)));
    }
    if (signal) {
      if (signal.aborted) queueMicrotask(() => this.cancel(request.id));
      else signal.addEventListener('abort', () => this.cancel(request.id), { once: true });
    }
    this.send({ type: 'add', request });
    return channel;
  }

  /**
   * Aborts a request: its KV row is freed at the engine's next step, its stream ends (or, with a
   * `reason`, throws it after the events already delivered).
   */
  cancel(requestId: string, reason?: ServeError): void {
    const channel = this.channels.get(requestId);
    if (!channel) return;
    this.forget(requestId);
    if (reason) channel.fail(reason);
    else channel.end();
    this.send({ type: 'abort', requestId });
  }

  /**
   * Stops accepting requests and waits for those in flight, up to `timeoutMs`; what is still
   * running then is aborted. Resolves once the worker has exited.
   */
  async drain(timeoutMs: number): Promise<void> {
    if (this.currentState === 'ready') this.currentState = 'draining';
    const deadline = Date.now() + timeoutMs;
    while (this.channels.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const id of [...this.channels.keys()]) this.cancel(id);
    await this.close();
  }

  /** Shuts the worker down (requests in flight are cut off). */
  async close(): Promise<void> {
    if (this.currentState === 'stopped') return;
    this.currentState = 'stopped';
    for (const channel of this.channels.values()) channel.fail(new ServeError('service_unavailable', 'the server is shutting down', { code: 'shutting_down' }));
    this.forgetAll();
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.send({ type: 'shutdown' });
    const timer = setTimeout(() => void this.worker.terminate(), 10_000);
    await exited;
    clearTimeout(timer);
  }

  private send(message: ToWorker): void {
    if (this.currentState !== 'stopped' || message.type === 'shutdown') this.worker.postMessage(message);
  }

  private receive(message: FromWorker): void {
    switch (message.type) {
      case 'step':
        for (const event of message.events) this.deliver(event);
        this.steps.emit('step', message.report);
        break;
      case 'rejected': {
        const channel = this.channels.get(message.requestId);
        this.forget(message.requestId);
        channel?.fail(ServeError.fromJSON(message.error));
        break;
      }
      case 'fatal':
        this.failAll(ServeError.fromJSON(message.error));
        break;
      case 'ready':
        break;
    }
  }

  private deliver(event: EngineEvent): void {
    if (event.type !== 'delta') this.steps.emit('request-end', event);
    const channel = this.channels.get(event.requestId);
    if (!channel) return; // cancelled: the engine may still report its last step
    if (event.type === 'error') {
      this.forget(event.requestId);
      channel.fail(ServeError.fromJSON(event.error));
      return;
    }
    channel.push(event);
    if (event.type === 'done') {
      this.forget(event.requestId);
      channel.end();
    }
  }

  private failAll(error: ServeError): void {
    this.fatal = error;
    if (this.currentState !== 'stopped') this.currentState = 'failed';
    for (const channel of this.channels.values()) channel.fail(error);
    this.forgetAll();
  }

  /** A request is over for the main thread: its stream is settled or about to be, its timer is stopped. */
  private forget(requestId: string): void {
    this.channels.delete(requestId);
    clearTimeout(this.deadlines.get(requestId));
    this.deadlines.delete(requestId);
  }

  private forgetAll(): void {
    for (const requestId of [...this.channels.keys()]) this.forget(requestId);
  }
}
