import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ServerMetrics } from '../exporter/index.js';
import { parseExposition } from './helpers/prometheus.js';

/**
 * The GPU collector against a real nvidia-smi, on machines that have one (a GPU runner or a
 * developer's workstation); elsewhere there is nothing real to run it against and it is skipped.
 */
const nvidiaSmi = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' });
const gpuCount = nvidiaSmi.status === 0 ? nvidiaSmi.stdout.split('\n').filter((line) => line.startsWith('GPU ')).length : 0;

describe.skipIf(gpuCount === 0)('GPU metrics from the real nvidia-smi', () => {
  it('reports every GPU nvidia-smi lists, with plausible readings', async () => {
    const warnings: string[] = [];
    const metrics = new ServerMetrics({ modelName: 'live', logger: { debug: () => {}, warn: (m) => warnings.push(m) } });
    await metrics.start();
    const samples = parseExposition(await metrics.render());
    metrics.close();
    const of = (name: string) => samples.filter((s) => s.name === name);
    expect(of('qwen3_serve_gpu_memory_total_bytes')).toHaveLength(gpuCount);
    for (const s of of('qwen3_serve_gpu_memory_total_bytes')) {
      expect(s.labels.name).toMatch(/\S/);
      expect(s.value).toBeGreaterThan(1024 ** 3);
    }
    for (const s of of('qwen3_serve_gpu_utilization_ratio')) {
      expect(s.value).toBeGreaterThanOrEqual(0);
      expect(s.value).toBeLessThanOrEqual(1);
    }
    for (const s of of('qwen3_serve_gpu_temperature_celsius')) {
      expect(s.value).toBeGreaterThan(0);
      expect(s.value).toBeLessThan(120);
    }
    for (const s of of('qwen3_serve_gpu_memory_used_bytes')) expect(s.value).toBeGreaterThanOrEqual(0);
    expect(warnings).toEqual([]);
  });
});
