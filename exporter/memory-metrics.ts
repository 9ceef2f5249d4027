import { Gauge, type Registry } from 'prom-client';
import { scrapedGauge } from './scraped-gauge.js';

/** What the engine reports once loaded that memory panels need (EngineClient.info). */
export interface EngineMemoryInfo {
  /** Bytes of the model files (graph and external weights). */
  weightBytes: number;
  /** Bytes of the KV buffers allocated up front for every row. */
  kvReservedBytes: number;
}

/** process.memoryUsage()'s shape, injectable so tests can check exact values. */
export type MemoryUsageReader = () => Pick<NodeJS.MemoryUsage, 'rss' | 'heapTotal' | 'heapUsed' | 'external' | 'arrayBuffers'>;

/**
 * Memory of the server: the process as a whole (RSS, which includes the engine worker and
 * onnxruntime's native allocations), the main thread's V8 heap and off-heap buffers, the model's
 * weights, and the KV cache allocated and in use.
 *
 * Process figures are read when scraped (process.memoryUsage() takes microseconds and never
 * touches the engine); model and KV figures are set from the engine's info and step reports.
 * The V8 figures are the main thread's isolate: the worker's heap is not visible from here, but
 * its memory is within RSS.
 */
export class MemoryMetrics {
  private readonly labels: { model_name: string };
  private readonly weightBytes: Gauge<string>;
  private readonly kvAllocatedBytes: Gauge<string>;
  private readonly kvUsedBytes: Gauge<string>;
  private readonly kvBudgetBytes: Gauge<string>;

  constructor(registry: Registry, modelName: string, readUsage: MemoryUsageReader = () => process.memoryUsage()) {
    this.labels = { model_name: modelName };
    const scraped = (name: string, help: string, pick: (usage: ReturnType<MemoryUsageReader>) => number) =>
      scrapedGauge(registry, modelName, name, help, () => pick(readUsage()));
    scraped('qwen3_serve_process_resident_memory_bytes', 'Resident set size of the server process (all threads, native memory included).', (u) => u.rss);
    scraped('qwen3_serve_heap_used_bytes', 'V8 heap in use on the main thread.', (u) => u.heapUsed);
    scraped('qwen3_serve_heap_total_bytes', 'V8 heap reserved on the main thread.', (u) => u.heapTotal);
    scraped('qwen3_serve_external_memory_bytes', 'Memory of C++ objects bound to JavaScript objects on the main thread.', (u) => u.external);
    scraped('qwen3_serve_array_buffers_bytes', 'Memory of ArrayBuffers and SharedArrayBuffers on the main thread (part of external).', (u) => u.arrayBuffers);

    const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames: ['model_name'], registers: [registry] });
    this.weightBytes = gauge('qwen3_serve_model_weight_bytes', 'Bytes of the loaded model files (graph and weights).');
    this.kvAllocatedBytes = gauge('qwen3_serve_kv_cache_allocated_bytes', 'Bytes of KV cache buffers allocated for all rows.');
    this.kvUsedBytes = gauge('qwen3_serve_kv_cache_used_bytes', 'Bytes of KV cache holding computed tokens.');
    this.kvBudgetBytes = gauge('qwen3_serve_kv_cache_budget_bytes', 'Bytes of KV cache the scheduler admits sequences against.');
  }

  /** Called once the engine has loaded its model. */
  setEngineInfo(info: EngineMemoryInfo): void {
    this.weightBytes.set(this.labels, info.weightBytes);
    this.kvAllocatedBytes.set(this.labels, info.kvReservedBytes);
    this.kvUsedBytes.set(this.labels, 0);
  }

  /** Called with every step report. */
  setKvCacheBytes(inUse: number, budget: number): void {
    this.kvUsedBytes.set(this.labels, inUse);
    this.kvBudgetBytes.set(this.labels, budget);
  }
}
