import { Gauge, Registry } from 'prom-client';
import type { HttpObserver, MetricsRenderer } from '../src/api/observability.js';
import type { StepReport } from '../src/engine/step-report.js';
import type { ErrorType } from '../src/errors.js';
import { EngineStepMetrics } from './engine-step-metrics.js';
import { EventLoopLagMetrics, type EventLoopLagOptions } from './event-loop-lag.js';
import { GpuMetrics } from './gpu/gpu-metrics.js';
import type { GpuReading } from './gpu/nvidia-smi-csv.js';
import { NvidiaSmiPoller } from './gpu/nvidia-smi-poller.js';
import { HttpMetrics } from './http-metrics.js';
import { registerRuntimeInfo, type RuntimeInfo } from './runtime-info.js';
import { MemoryMetrics, type EngineMemoryInfo, type MemoryUsageReader } from './memory-metrics.js';
import { registerProcessMetrics } from './process-metrics.js';
import type { MetricsLogger } from './metrics-logger.js';
import type { RequestEnd } from './request-end.js';
import { VllmMetrics } from './vllm-metrics.js';

/**
 * What the metrics need from the engine: EngineClient fits. Reports arrive on the main thread
 * after each step; the metrics never call into the engine or its worker.
 */
export interface ObservableEngine {
  /** `runtime` fields are absent from test fakes; then no info series is written. */
  readonly info: EngineMemoryInfo & { maxLen: number } & Partial<RuntimeInfo>;
  onStep(listener: (report: StepReport) => void): void;
  onRequestEnd(listener: (event: RequestEnd) => void): void;
}

export interface ServerMetricsOptions {
  /** The served model name: the `model_name` label of every series. */
  modelName: string;
  logger?: MetricsLogger;
  /**
   * GPU polling: the nvidia-smi command and interval, or false for none. Default: poll
   * `nvidia-smi` every 5 s (absent cleanly where there is none).
   */
  gpu?: { command?: string; intervalMs?: number } | false;
  eventLoop?: EventLoopLagOptions;
  /** Reads process memory (tests inject fixed numbers). Default process.memoryUsage. */
  readMemoryUsage?: MemoryUsageReader;
}

/**
 * All metrics of one server in their own registry (so two servers in one process, as in tests,
 * never share series). It is the API's HttpObserver and MetricsRenderer; the composition root
 * attaches the engine once loaded. Rendering reads only values already in memory.
 */
export class ServerMetrics implements HttpObserver, MetricsRenderer {
  readonly registry = new Registry();
  private readonly modelName: string;
  private readonly http: HttpMetrics;
  private readonly memory: MemoryMetrics;
  private readonly eventLoop: EventLoopLagMetrics;
  private readonly poller: NvidiaSmiPoller | undefined;
  private gpu: GpuMetrics | undefined;
  private engine: { vllm: VllmMetrics; steps: EngineStepMetrics } | undefined;

  constructor(options: ServerMetricsOptions) {
    this.modelName = options.modelName;
    this.http = new HttpMetrics(this.registry, options.modelName);
    this.memory = new MemoryMetrics(this.registry, options.modelName, options.readMemoryUsage);
    this.eventLoop = new EventLoopLagMetrics(this.registry, options.modelName, options.eventLoop);
    registerProcessMetrics(this.registry, options.modelName);
    if (options.gpu !== false) {
      this.poller = new NvidiaSmiPoller({
        command: options.gpu?.command,
        intervalMs: options.gpu?.intervalMs,
        logger: options.logger,
        onReadings: (readings) => this.observeGpus(readings),
      });
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Starts background collection (GPU polling); resolves after the first GPU poll. */
  start(): Promise<void> {
    return this.poller?.start() ?? Promise.resolve();
  }

  /**
   * Subscribes to a loaded engine's step reports and request ends. The vLLM metrics appear now:
   * their token-count buckets depend on the engine's maximum sequence length.
   */
  attachEngine(engine: ObservableEngine): void {
    if (this.engine) throw new Error('an engine is already attached to these metrics');
    const engineMetrics = {
      vllm: new VllmMetrics(this.registry, { modelName: this.modelName, maxModelLen: engine.info.maxLen }),
      steps: new EngineStepMetrics(this.registry, this.modelName),
    };
    this.engine = engineMetrics;
    this.memory.setEngineInfo(engine.info);
    const { device, cpu, threads, spinning, kvOutputs, kvCache, prefillGraph } = engine.info;
    if (device && cpu && threads && kvOutputs) registerRuntimeInfo(this.registry, this.modelName, { device, cpu, threads, spinning: spinning ?? 'always', kvOutputs, kvCache: kvCache ?? 'float32', prefillGraph: prefillGraph ?? false });
    engine.onStep((report) => this.observeStep(report));
    engine.onRequestEnd((event) => engineMetrics.vllm.observeRequestEnd(event));
  }

  observeStep(report: StepReport): void {
    if (!this.engine) return;
    this.engine.vllm.observeStep(report);
    this.engine.steps.observeStep(report);
    this.memory.setKvCacheBytes(report.kvBytesInUse, report.kvBytesBudget);
  }

  observeRequestEnd(event: RequestEnd): void {
    this.engine?.vllm.observeRequestEnd(event);
  }

  httpRequest(exchange: { route: string; method: string; status: number; durationSeconds: number }): void {
    this.http.httpRequest(exchange);
  }

  errorAnswered(error: { type: ErrorType; code: string | null }): void {
    this.http.errorAnswered(error);
  }

  /**
   * The batch backlog: lines of in_progress batches not answered yet, read from the batch store
   * at each scrape. With a shared PostgreSQL store every replica reports the same (shared) figure,
   * so autoscalers should take its max, not its sum. A read that fails leaves the last value.
   */
  attachBatchBacklog(read: () => Promise<number>): void {
    const labels = { model_name: this.modelName };
    new Gauge({
      name: 'qwen3_serve_batch_lines_pending',
      help: 'Batch lines not answered yet, across every in_progress batch of the batch store (shared by replicas on PostgreSQL).',
      labelNames: ['model_name'],
      registers: [this.registry],
      async collect() {
        this.set(labels, await read().catch(() => this.get().then((m) => m.values[0]?.value ?? 0)));
      },
    });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Stops background collection. */
  close(): void {
    this.poller?.stop();
    this.eventLoop.stop();
  }

  /** GPU series exist only once a GPU has been seen: a host without one shows none at all. */
  private observeGpus(readings: GpuReading[] | null): void {
    if (!this.gpu && readings && readings.length > 0) this.gpu = new GpuMetrics(this.registry, this.modelName);
    this.gpu?.update(readings);
  }
}
