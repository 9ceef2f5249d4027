import { Gauge, type Registry } from 'prom-client';
import type { GpuReading } from './nvidia-smi-csv.js';

/**
 * Per-GPU gauges labelled by `index` and `name`, set from the latest nvidia-smi poll. A poll
 * replaces every series, so a GPU that disappears (or a field it stops reporting) leaves no stale
 * value behind; with no GPU there are no series at all.
 */
export class GpuMetrics {
  private readonly modelName: string;
  private readonly utilization: Gauge<string>;
  private readonly memoryUsed: Gauge<string>;
  private readonly memoryTotal: Gauge<string>;
  private readonly temperature: Gauge<string>;
  private readonly power: Gauge<string>;

  constructor(registry: Registry, modelName: string) {
    this.modelName = modelName;
    const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames: ['model_name', 'index', 'name'], registers: [registry] });
    this.utilization = gauge('qwen3_serve_gpu_utilization_ratio', 'Share of the last sample period in which a kernel ran on the GPU (0..1).');
    this.memoryUsed = gauge('qwen3_serve_gpu_memory_used_bytes', 'GPU memory allocated by all processes.');
    this.memoryTotal = gauge('qwen3_serve_gpu_memory_total_bytes', 'GPU memory installed.');
    this.temperature = gauge('qwen3_serve_gpu_temperature_celsius', 'GPU core temperature.');
    this.power = gauge('qwen3_serve_gpu_power_draw_watts', 'Power drawn by the whole board.');
  }

  /** Replaces all GPU series with these readings (null or empty: none). */
  update(readings: readonly GpuReading[] | null): void {
    const all = [this.utilization, this.memoryUsed, this.memoryTotal, this.temperature, this.power];
    for (const gauge of all) gauge.reset();
    for (const reading of readings ?? []) {
      const labels = { model_name: this.modelName, index: reading.index, name: reading.name };
      const set = (gauge: Gauge<string>, value: number | null) => {
        if (value !== null) gauge.set(labels, value);
      };
      set(this.utilization, reading.utilization);
      set(this.memoryUsed, reading.memoryUsedBytes);
      set(this.memoryTotal, reading.memoryTotalBytes);
      set(this.temperature, reading.temperatureCelsius);
      set(this.power, reading.powerWatts);
    }
  }
}
