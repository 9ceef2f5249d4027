import { describe, expect, it } from 'vitest';
import { GPU_QUERY_FIELDS, gpuReadings, nvidiaSmiArgs, parseNvidiaSmiCsv } from '../exporter/gpu/nvidia-smi-csv.js';

/**
 * Real nvidia-smi output, captured by users and posted in public GitHub issues (data lines of
 * `--format=csv,...,nounits` output, kept byte for byte):
 *
 * - Ricks-Lab/gpu-utils issue #83 (Linux, driver 440.64, GeForce RTX 2080), for
 *   `nvidia-smi -i 0a:00.0 --query-gpu=<the 19 fields below> --format=csv,noheader,nounits`;
 *   `temperature.memory` is unsupported there and reads `N/A`.
 * - Quake4/MindMiner issue #627 (Windows, driver 442.19, GeForce RTX 2080 Ti), for
 *   `nvidia-smi.exe --query-gpu=<the 10 fields below> --format=csv,nounits` (its header line
 *   dropped); `power.default_limit` failed and reads `[Unknown Error]`.
 */
const GPU_UTILS_83 = {
  fields: [
    'power.limit', 'power.min_limit', 'power.max_limit', 'memory.total', 'vbios_version', 'driver_version', 'name', 'gpu_uuid',
    'power.draw', 'temperature.gpu', 'temperature.memory', 'clocks.current.graphics', 'clocks.sm', 'clocks.mem', 'utilization.gpu',
    'utilization.memory', 'fan.speed', 'pcie.link.width.current', 'pstate',
  ],
  output:
    '200.00, 105.00, 292.00, 7979, 90.04.23.00.5F, 440.64, GeForce RTX 2080, GPU-22b2c6ac-2d49-4863-197c-9c469071178a, 176.98, 45, N/A, 1965, 1965, 7199, 86, 55, 100, 8, P2\n',
};
const MINDMINER_627 = {
  fields: [
    'gpu_name', 'utilization.gpu', 'utilization.memory', 'temperature.gpu', 'power.draw', 'power.limit', 'fan.speed',
    'clocks.current.graphics', 'clocks.current.memory', 'power.default_limit',
  ],
  output: 'GeForce RTX 2080 Ti, 100, 37, 56, 228.82, 210.00, 56, 1560, 6800, [Unknown Error]\r\n',
};

/**
 * Our query's layout (GPU_QUERY_FIELDS) with values read off real `nvidia-smi` tables posted in
 * public issues: dexbotic/dexbotic issue #41 (two A800-SXM4-80GB, driver 535.86.10: 72% and 68%,
 * 34447 and 34639 of 81920 MiB, 49 and 42 C, 125 and 139 W) and utkuozdemir/nvidia_gpu_exporter
 * issue #203 (an A800 in MIG mode, where utilization reads N/A: 36537 of 81920 MiB, 33 C, 87 W).
 * Transcribed into CSV, so this one is not byte-for-byte output.
 */
const A800_TABLES_IN_OUR_LAYOUT = [
  '0, NVIDIA A800-SXM4-80GB, 72, 34447, 81920, 49, 125.00',
  '1, NVIDIA A800-SXM4-80GB, 68, 34639, 81920, 42, 139.00',
  '2, NVIDIA A800-SXM4-80GB, [N/A], 36537, 81920, 33, 87.00',
  '',
].join('\n');

const MIB = 1024 * 1024;

describe('nvidia-smi CSV parser', () => {
  it('reads the real gpu-utils #83 line field by field, N/A as null', () => {
    const rows = parseNvidiaSmiCsv(GPU_UTILS_83.output, GPU_UTILS_83.fields);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      'power.limit': '200.00',
      'memory.total': '7979',
      vbios_version: '90.04.23.00.5F',
      name: 'GeForce RTX 2080',
      gpu_uuid: 'GPU-22b2c6ac-2d49-4863-197c-9c469071178a',
      'power.draw': '176.98',
      'temperature.gpu': '45',
      'temperature.memory': null,
      'utilization.gpu': '86',
      pstate: 'P2',
    });
  });

  it('reads the real MindMiner #627 line (CRLF, Windows), [Unknown Error] as null', () => {
    const rows = parseNvidiaSmiCsv(MINDMINER_627.output, MINDMINER_627.fields);
    expect(rows).toEqual([
      {
        gpu_name: 'GeForce RTX 2080 Ti',
        'utilization.gpu': '100',
        'utilization.memory': '37',
        'temperature.gpu': '56',
        'power.draw': '228.82',
        'power.limit': '210.00',
        'fan.speed': '56',
        'clocks.current.graphics': '1560',
        'clocks.current.memory': '6800',
        'power.default_limit': null,
      },
    ]);
  });

  it('turns our query into readings in base units, per GPU, with missing sensors left out', () => {
    expect(gpuReadings(parseNvidiaSmiCsv(A800_TABLES_IN_OUR_LAYOUT, GPU_QUERY_FIELDS))).toEqual([
      { index: '0', name: 'NVIDIA A800-SXM4-80GB', utilization: 0.72, memoryUsedBytes: 34447 * MIB, memoryTotalBytes: 81920 * MIB, temperatureCelsius: 49, powerWatts: 125 },
      { index: '1', name: 'NVIDIA A800-SXM4-80GB', utilization: 0.68, memoryUsedBytes: 34639 * MIB, memoryTotalBytes: 81920 * MIB, temperatureCelsius: 42, powerWatts: 139 },
      { index: '2', name: 'NVIDIA A800-SXM4-80GB', utilization: null, memoryUsedBytes: 36537 * MIB, memoryTotalBytes: 81920 * MIB, temperatureCelsius: 33, powerWatts: 87 },
    ]);
  });

  it('rejoins a product name that contains a comma, and skips malformed lines', () => {
    const output = '0, NVIDIA RTX 6000 Ada Generation, Workstation Edition, 3, 120, 49140, 35, 28.51\nGPU lost\n1, Tesla T4, 0\n';
    expect(gpuReadings(parseNvidiaSmiCsv(output, GPU_QUERY_FIELDS))).toEqual([
      {
        index: '0',
        name: 'NVIDIA RTX 6000 Ada Generation, Workstation Edition',
        utilization: 0.03,
        memoryUsedBytes: 120 * MIB,
        memoryTotalBytes: 49140 * MIB,
        temperatureCelsius: 35,
        powerWatts: 28.51,
      },
    ]);
  });

  it('asks nvidia-smi for exactly our fields, without header or units', () => {
    expect(nvidiaSmiArgs()).toEqual([
      '--query-gpu=index,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw',
      '--format=csv,noheader,nounits',
    ]);
    expect(parseNvidiaSmiCsv('', GPU_QUERY_FIELDS)).toEqual([]);
  });
});
