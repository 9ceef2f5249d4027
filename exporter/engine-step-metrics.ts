import { Histogram, type Registry } from 'prom-client';
import type { StepReport } from '../src/engine/step-report.js';

/** Sequences in one step: powers of two up to well past any max_seqs this server runs with. */
export const BATCH_SIZE_BUCKETS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/**
 * Whole-step time: a tiny model steps in milliseconds, Qwen3-4B on two CPU cores in a few hundred
 * milliseconds per decode and seconds per long prefill chunk.
 */
export const STEP_DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Engine overhead (schedule, sample, detokenize, emit) should stay far below the forward pass. */
export const ENGINE_OVERHEAD_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

/**
 * Our own per-step metrics where vLLM has none: how many sequences each step runs, how long a
 * step takes, and how much of it is not the model (the engine's own overhead).
 */
export class EngineStepMetrics {
  private readonly labels: { model_name: string };
  private readonly batchSize: Histogram<string>;
  private readonly stepDuration: Histogram<string>;
  private readonly engineOverhead: Histogram<string>;

  constructor(registry: Registry, modelName: string) {
    this.labels = { model_name: modelName };
    const registers = [registry];
    const labelNames = ['model_name'];
    this.batchSize = new Histogram({
      name: 'qwen3_serve_batch_size',
      help: 'Sequences run by one engine step (decode rows plus prefill chunks).',
      labelNames,
      buckets: [...BATCH_SIZE_BUCKETS],
      registers,
    });
    this.stepDuration = new Histogram({
      name: 'qwen3_serve_step_duration_seconds',
      help: 'Duration of one engine step, schedule to emitted events.',
      labelNames,
      buckets: [...STEP_DURATION_BUCKETS],
      registers,
    });
    this.engineOverhead = new Histogram({
      name: 'qwen3_serve_engine_overhead_seconds',
      help: 'Time of one engine step spent outside the model forward pass.',
      labelNames,
      buckets: [...ENGINE_OVERHEAD_BUCKETS],
      registers,
    });
    for (const h of [this.batchSize, this.stepDuration, this.engineOverhead]) h.zero(this.labels);
  }

  observeStep(report: StepReport): void {
    const sequences = report.decodeBatchSize + report.prefillChunks;
    // An idle step (nothing scheduled) is not a batch of zero: it would drag averages down.
    if (sequences === 0) return;
    this.batchSize.observe(this.labels, sequences);
    this.stepDuration.observe(this.labels, report.durationMs / 1000);
    this.engineOverhead.observe(this.labels, Math.max(0, report.durationMs - report.forwardMs) / 1000);
  }
}
