import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { scrapedGauge } from './scraped-gauge.js';

export interface EventLoopLagOptions {
  /** Length of the window each exported value summarises (ms). Default 5000. */
  windowMs?: number;
  /** Sampling resolution of Node's delay monitor (ms). Default 10. */
  resolutionMs?: number;
}

/** The summary of one closed window, in seconds. */
interface LagWindow {
  p50: number;
  p99: number;
  max: number;
}

/**
 * Main-thread event-loop lag from perf_hooks.monitorEventLoopDelay, summarised over fixed windows.
 *
 * The window is closed by its own timer, never by a scrape: prom-client's default collector
 * resets its histogram on every scrape, so two scrapers (Prometheus and a curl) would each see a
 * different, shorter window. Here every scrape of the same window reads the same values.
 * The HTTP server and the metrics live on this thread; the engine runs in a worker, so a lag here
 * means HTTP answers (and token streams) are delayed, not the model.
 */
export class EventLoopLagMetrics {
  private readonly histogram: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  private last: LagWindow = { p50: 0, p99: 0, max: 0 };

  constructor(registry: Registry, modelName: string, options: EventLoopLagOptions = {}) {
    this.histogram = monitorEventLoopDelay({ resolution: options.resolutionMs ?? 10 });
    this.histogram.enable();
    this.timer = setInterval(() => this.closeWindow(), options.windowMs ?? 5000);
    // Metrics must never keep a process alive that is otherwise done.
    this.timer.unref();

    const windowed = (name: string, help: string, pick: () => number) => scrapedGauge(registry, modelName, name, help, pick);
    windowed('qwen3_serve_event_loop_lag_p50_seconds', 'Median main-thread event-loop delay over the last window.', () => this.last.p50);
    windowed('qwen3_serve_event_loop_lag_p99_seconds', '99th percentile main-thread event-loop delay over the last window.', () => this.last.p99);
    windowed('qwen3_serve_event_loop_lag_max_seconds', 'Longest main-thread event-loop delay over the last window.', () => this.last.max);
  }

  /** Summarises the samples since the last window (nanoseconds in, seconds out) and starts anew. */
  closeWindow(): void {
    const h = this.histogram;
    // With no sample yet (a window shorter than the resolution), the histogram reports huge
    // sentinel values; keep zeros rather than publish them.
    this.last = h.count > 0 ? { p50: h.percentile(50) / 1e9, p99: h.percentile(99) / 1e9, max: h.max / 1e9 } : { p50: 0, p99: 0, max: 0 };
    h.reset();
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}
