import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { detectCpu } from '../../src/model/runner/cpu-features.js';

/** The machine a benchmark ran on, as BENCHMARKS.md records it. */
export interface MachineInfo {
  cpuModel: string;
  /** Logical CPUs the process can see. */
  cores: number;
  /** The /proc/cpuinfo flags that decide which onnxruntime kernels run (AVX2, AVX-512, VNNI, AMX). */
  simdFlags: string[];
  /** Last-level cache as lscpu reports it, e.g. "300 MiB" (from /sys; undefined when absent). */
  l3Cache: string | undefined;
  memoryBytes: number;
  node: string;
  onnxruntime: string;
  loadAverage: number[];
}

export function describeMachine(): MachineInfo {
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    simdFlags: detectCpu().simdFlags,
    l3Cache: readL3Size(),
    memoryBytes: totalmem(),
    node: process.version,
    onnxruntime: packageVersion('onnxruntime-node'),
    loadAverage: loadavg(),
  };
}

function readL3Size(): string | undefined {
  try {
    for (let index = 0; index < 8; index++) {
      const base = `/sys/devices/system/cpu/cpu0/cache/index${index}`;
      if (readFileSync(`${base}/level`, 'utf8').trim() === '3') return readFileSync(`${base}/size`, 'utf8').trim();
    }
  } catch {
    // No cache description (containers without /sys, other systems): leave it out.
  }
  return undefined;
}

/**
 * The installed version of an npm package, or 'unknown'. Read from the package.json above its
 * resolved entry, because packages with an `exports` map do not export their package.json.
 */
export function packageVersion(name: string): string {
  try {
    let dir = dirname(createRequire(import.meta.url).resolve(name));
    while (dir !== dirname(dir)) {
      const path = join(dir, 'package.json');
      if (existsSync(path)) {
        const json = JSON.parse(readFileSync(path, 'utf8')) as { name?: string; version?: string };
        if (json.name === name && json.version) return json.version;
      }
      dir = dirname(dir);
    }
  } catch {
    // Not installed or not resolvable from here.
  }
  return 'unknown';
}
