import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ServerMetrics } from '../exporter/index.js';
import { parseExposition, sampleValue } from './helpers/prometheus.js';

const MODEL = { model_name: 'gpu-test' };
const dir = mkdtempSync(join(tmpdir(), 'qwen3-serve-fake-nvidia-smi-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A stand-in nvidia-smi: a real executable run as a child process, recording its arguments and
 * answering from a mode file the test switches: `ok` prints two GPUs, `fail` fails the way
 * nvidia-smi does without a driver, `nodevice` the way it does with a driver but no GPU.
 */
function fakeNvidiaSmi(name: string, mode: 'ok' | 'fail' | 'nodevice') {
  const script = join(dir, name);
  const modeFile = `${script}.mode`;
  const callsFile = `${script}.calls`;
  writeFileSync(modeFile, mode);
  writeFileSync(callsFile, '');
  writeFileSync(
    script,
    [
      '#!/bin/sh',
      `echo "$@" >> '${callsFile}'`,
      `case "$(cat '${modeFile}')" in`,
      "  ok) printf '0, NVIDIA H100 80GB HBM3, 97, 65432, 81559, 61, 512.30\\n1, NVIDIA H100 80GB HBM3, 0, 1, 81559, 30, [N/A]\\n' ;;",
      "  fail) echo \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\"; exit 9 ;;",
      "  nodevice) echo 'No devices were found'; exit 6 ;;",
      'esac',
      '',
    ].join('\n'),
  );
  chmodSync(script, 0o755);
  return {
    command: script,
    setMode: (next: 'ok' | 'fail' | 'nodevice') => writeFileSync(modeFile, next),
    calls: () => readFileSync(callsFile, 'utf8').split('\n').filter(Boolean),
  };
}

function recordingLogger() {
  const lines: { level: 'debug' | 'warn'; message: string }[] = [];
  return {
    lines,
    debug: (message: string) => lines.push({ level: 'debug', message }),
    warn: (message: string) => lines.push({ level: 'warn', message }),
  };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('GPU metrics from nvidia-smi', () => {
  it('without nvidia-smi: no GPU series, one debug line, no polling', async () => {
    const logger = recordingLogger();
    const metrics = new ServerMetrics({ modelName: MODEL.model_name, logger, gpu: { command: join(dir, 'not-installed', 'nvidia-smi'), intervalMs: 20 } });
    await metrics.start();
    await new Promise((r) => setTimeout(r, 100));
    const text = await metrics.render();
    expect(text).not.toContain('qwen3_serve_gpu');
    expect(logger.lines).toEqual([{ level: 'debug', message: expect.stringMatching(/^no GPU metrics: .*nvidia-smi not found$/) }]);
    metrics.close();
  });

  it('with nvidia-smi but no device: no GPU series, one debug line, a single call', async () => {
    const smi = fakeNvidiaSmi('nodevice-smi', 'nodevice');
    const logger = recordingLogger();
    const metrics = new ServerMetrics({ modelName: MODEL.model_name, logger, gpu: { command: smi.command, intervalMs: 20 } });
    await metrics.start();
    await new Promise((r) => setTimeout(r, 150));
    expect(await metrics.render()).not.toContain('qwen3_serve_gpu');
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0].level).toBe('debug');
    expect(smi.calls()).toHaveLength(1);
    metrics.close();
  });

  it('with GPUs: per-GPU series by index and name, from our exact query; failures drop them and warn once', async () => {
    const smi = fakeNvidiaSmi('h100-smi', 'ok');
    const logger = recordingLogger();
    const metrics = new ServerMetrics({ modelName: MODEL.model_name, logger, gpu: { command: smi.command, intervalMs: 20 } });
    await metrics.start();
    expect(smi.calls()[0]).toBe('--query-gpu=index,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw --format=csv,noheader,nounits');

    const samples = parseExposition(await metrics.render());
    const gpu0 = { ...MODEL, index: '0', name: 'NVIDIA H100 80GB HBM3' };
    const gpu1 = { ...MODEL, index: '1', name: 'NVIDIA H100 80GB HBM3' };
    expect(sampleValue(samples, 'qwen3_serve_gpu_utilization_ratio', gpu0)).toBe(0.97);
    expect(sampleValue(samples, 'qwen3_serve_gpu_memory_used_bytes', gpu0)).toBe(65432 * 1024 * 1024);
    expect(sampleValue(samples, 'qwen3_serve_gpu_memory_total_bytes', gpu0)).toBe(81559 * 1024 * 1024);
    expect(sampleValue(samples, 'qwen3_serve_gpu_temperature_celsius', gpu0)).toBe(61);
    expect(sampleValue(samples, 'qwen3_serve_gpu_power_draw_watts', gpu0)).toBe(512.3);
    expect(sampleValue(samples, 'qwen3_serve_gpu_utilization_ratio', gpu1)).toBe(0);
    // GPU 1 cannot report power: no series rather than a misleading 0.
    expect(samples.filter((s) => s.name === 'qwen3_serve_gpu_power_draw_watts')).toHaveLength(1);

    smi.setMode('fail');
    await until(async () => !(await metrics.render()).includes('qwen3_serve_gpu_utilization_ratio{'));
    const callsWhenDropped = smi.calls().length;
    await until(() => smi.calls().length >= callsWhenDropped + 3);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(logger.lines[0].message).toMatch(/GPU metrics unavailable: .*failed/);

    smi.setMode('ok');
    await until(async () => (await metrics.render()).includes('qwen3_serve_gpu_utilization_ratio{'));
    metrics.close();
    const callsAtClose = smi.calls().length;
    await new Promise((r) => setTimeout(r, 120));
    expect(smi.calls().length).toBeLessThanOrEqual(callsAtClose + 1);
  });
});
