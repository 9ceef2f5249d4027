import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ServerMetrics } from '../exporter/index.js';
import { EventLoopLagMetrics } from '../exporter/event-loop-lag.js';
import { parseExposition, sampleValue } from './helpers/prometheus.js';

const MODEL = { model_name: 'mem-test' };

describe('memory collectors', () => {
  it('report process memory as read at scrape time, exactly', async () => {
    let rss = 1000;
    const metrics = new ServerMetrics({
      modelName: MODEL.model_name,
      gpu: false,
      readMemoryUsage: () => ({ rss, heapTotal: 500, heapUsed: 400, external: 300, arrayBuffers: 200 }),
    });
    const read = async () => parseExposition(await metrics.render());
    let samples = await read();
    expect(sampleValue(samples, 'qwen3_serve_process_resident_memory_bytes', MODEL)).toBe(1000);
    expect(sampleValue(samples, 'qwen3_serve_heap_total_bytes', MODEL)).toBe(500);
    expect(sampleValue(samples, 'qwen3_serve_heap_used_bytes', MODEL)).toBe(400);
    expect(sampleValue(samples, 'qwen3_serve_external_memory_bytes', MODEL)).toBe(300);
    expect(sampleValue(samples, 'qwen3_serve_array_buffers_bytes', MODEL)).toBe(200);
    rss = 2000;
    samples = await read();
    expect(sampleValue(samples, 'qwen3_serve_process_resident_memory_bytes', MODEL)).toBe(2000);
    metrics.close();
  });

  it('follow the real process: a 64 MiB buffer shows in ArrayBuffer and resident bytes', async () => {
    const metrics = new ServerMetrics({ modelName: MODEL.model_name, gpu: false });
    const read = async () => parseExposition(await metrics.render());
    const before = await read();
    const buffer = Buffer.alloc(64 * 1024 * 1024, 1); // filled, so its pages are resident
    const after = await read();
    const grew = (name: string) => sampleValue(after, name, MODEL) - sampleValue(before, name, MODEL);
    // Within 10%: a garbage collection between the two reads may free other, smaller buffers.
    expect(grew('qwen3_serve_array_buffers_bytes')).toBeGreaterThan(buffer.length * 0.9);
    expect(grew('qwen3_serve_external_memory_bytes')).toBeGreaterThan(buffer.length * 0.9);
    expect(grew('qwen3_serve_process_resident_memory_bytes')).toBeGreaterThan(buffer.length / 2);
    expect(sampleValue(after, 'qwen3_serve_heap_used_bytes', MODEL)).toBeGreaterThan(1_000_000);
    expect(buffer[buffer.length - 1]).toBe(1);
    metrics.close();
  });
});

describe('event-loop lag', () => {
  it('reports a blocked main thread in the window that saw it, and the same values to every scrape', async () => {
    const registry = new Registry();
    const lag = new EventLoopLagMetrics(registry, MODEL.model_name, { windowMs: 600_000, resolutionMs: 10 });
    const read = async () => parseExposition(await registry.metrics());
    await new Promise((r) => setTimeout(r, 50));
    const blockUntil = performance.now() + 250;
    while (performance.now() < blockUntil) {
      // Busy: the event loop cannot turn, as when a forward pass runs on the main thread.
    }
    await new Promise((r) => setTimeout(r, 30));
    lag.closeWindow();
    const first = await read();
    const second = await read();
    const max = sampleValue(first, 'qwen3_serve_event_loop_lag_max_seconds', MODEL);
    expect(max).toBeGreaterThan(0.2);
    expect(max).toBeLessThan(5);
    expect(sampleValue(first, 'qwen3_serve_event_loop_lag_p50_seconds', MODEL)).toBeLessThanOrEqual(max);
    expect(sampleValue(second, 'qwen3_serve_event_loop_lag_max_seconds', MODEL)).toBe(max);

    // The next window saw no block.
    await new Promise((r) => setTimeout(r, 100));
    lag.closeWindow();
    expect(sampleValue(await read(), 'qwen3_serve_event_loop_lag_max_seconds', MODEL)).toBeLessThan(0.2);
    lag.stop();
  });
});

describe("prom-client's default process and Node.js metrics", () => {
  it('sit beside ours under the standard names, each name once, with model_name, and follow the process', async () => {
    const metrics = new ServerMetrics({ modelName: MODEL.model_name, gpu: false });
    const text = await metrics.render();
    // One TYPE line per metric name: a clash between a default and one of ours would repeat it
    // (prom-client refuses a second registration, so it would already have thrown above).
    const typed = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
    expect(new Set(typed).size).toBe(typed.length);
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_version_info', 'qwen3_serve_process_resident_memory_bytes']) {
      expect(typed, name).toContain(name);
    }
    const samples = parseExposition(text);
    const rss = sampleValue(samples, 'process_resident_memory_bytes', MODEL);
    const ours = sampleValue(samples, 'qwen3_serve_process_resident_memory_bytes', MODEL);
    // Both read this process's RSS (from /proc and from process.memoryUsage) within one scrape.
    expect(Math.abs(rss - ours) / ours).toBeLessThan(0.1);
    expect(sampleValue(samples, 'process_start_time_seconds', MODEL)).toBeCloseTo(Date.now() / 1000 - process.uptime(), -1);

    // CPU time is cumulative: burn 200 ms of it and the counter grows by at least that. Burnt
    // by CPU time, not wall time: on a loaded machine 200 ms of wall time may be 60 ms of CPU.
    const cpuBefore = sampleValue(samples, 'process_cpu_seconds_total', MODEL);
    const start = process.cpuUsage();
    while (process.cpuUsage(start).user < 200_000) {
      // Busy on purpose.
    }
    const cpuAfter = sampleValue(parseExposition(await metrics.render()), 'process_cpu_seconds_total', MODEL);
    expect(cpuAfter - cpuBefore).toBeGreaterThanOrEqual(0.19);
    metrics.close();
  });
});
