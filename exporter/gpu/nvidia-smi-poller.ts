import { execFile } from 'node:child_process';
import type { MetricsLogger } from '../metrics-logger.js';
import { GPU_QUERY_FIELDS, gpuReadings, nvidiaSmiArgs, parseNvidiaSmiCsv, type GpuReading } from './nvidia-smi-csv.js';

export interface NvidiaSmiPollerOptions {
  /** The nvidia-smi executable (a name looked up on PATH, or a path). Default `nvidia-smi`. */
  command?: string;
  /** Time between the end of one poll and the start of the next (ms). Default 5000. */
  intervalMs?: number;
  /** A poll still running after this is killed and counts as failed (ms). Default 4000. */
  timeoutMs?: number;
  logger?: MetricsLogger;
  /** Every poll's readings; null when they are gone (nvidia-smi failed after working). */
  onReadings: (readings: GpuReading[] | null) => void;
}

/**
 * Runs nvidia-smi (NVML underneath) on an interval, off the scrape path: a scrape only reads the
 * gauges the last poll set. One poll at a time; the next is scheduled when the last has ended.
 *
 * No GPU is a normal state: if nvidia-smi is missing, or fails before ever answering (installed
 * without a usable driver or device), polling stops after one debug line and no GPU series ever
 * appears. If it fails after having worked, the series are dropped (stale numbers would mislead),
 * one warning is logged per run of failures, and polling goes on.
 */
export class NvidiaSmiPoller {
  private readonly command: string;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly logger: MetricsLogger | undefined;
  private readonly onReadings: (readings: GpuReading[] | null) => void;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private everAnswered = false;
  private failing = false;

  constructor(options: NvidiaSmiPollerOptions) {
    this.command = options.command ?? 'nvidia-smi';
    this.intervalMs = options.intervalMs ?? 5000;
    this.timeoutMs = options.timeoutMs ?? 4000;
    this.logger = options.logger;
    this.onReadings = options.onReadings;
  }

  /** Polls now, then every interval until stop(). Resolves after the first poll has ended. */
  start(): Promise<void> {
    return this.poll();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** One poll; schedules the next unless polling has ended. */
  private async poll(): Promise<void> {
    let keepPolling = true;
    try {
      const stdout = await this.run();
      this.everAnswered = true;
      this.failing = false;
      this.onReadings(gpuReadings(parseNvidiaSmiCsv(stdout, GPU_QUERY_FIELDS)));
    } catch (err) {
      keepPolling = this.failed(err as NodeJS.ErrnoException);
    }
    if (keepPolling && !this.stopped) {
      this.timer = setTimeout(() => void this.poll(), this.intervalMs);
      // GPU polling must never keep a finished process alive.
      this.timer.unref();
    }
  }

  /** Logs a failed poll; returns whether to go on polling. */
  private failed(err: NodeJS.ErrnoException): boolean {
    if (!this.everAnswered) {
      const reason = err.code === 'ENOENT' ? `${this.command} not found` : `${this.command} failed (${firstLine(err.message)})`;
      this.logger?.debug(`no GPU metrics: ${reason}`);
      return false;
    }
    if (!this.failing) this.logger?.warn(`GPU metrics unavailable: ${this.command} failed (${firstLine(err.message)}); retrying`);
    this.failing = true;
    this.onReadings(null);
    return true;
  }

  private run(): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(this.command, nvidiaSmiArgs(), { timeout: this.timeoutMs, windowsHide: true }, (err, stdout) => {
        if (err) reject(err);
        else resolve(stdout);
      });
    });
  }
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}
