import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';

/**
 * The CPU the server runs on, as far as it decides which kernels run: onnxruntime picks its
 * MatMulNBits and integer GEMM kernels at run time from these features (AVX2, AVX-512 with VNNI,
 * AMX), and the machines this project runs on differ exactly there (DESIGN.md).
 */
export interface CpuFeatures {
  model: string;
  /** Logical CPUs the process can see. */
  cores: number;
  /**
   * Physical cores among the CPUs this process may run on (its affinity list, hyperthread siblings
   * counted once): the intra-op thread count the server uses unless told otherwise.
   */
  physicalCores: number;
  /** The /proc/cpuinfo flags among SIMD_FLAGS that this CPU has. */
  simdFlags: string[];
  /** The widest instruction set of those, the one the fastest kernels need. */
  isa: 'amx' | 'avx512-vnni' | 'avx512' | 'avx2' | 'baseline';
}

/** The flags that select onnxruntime's CPU kernels (and llama.cpp's build variant). */
export const SIMD_FLAGS = ['avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx_vnni', 'avx512_bf16', 'avx512_fp16', 'amx_tile', 'amx_int8', 'amx_bf16'] as const;

export function detectCpu(cpuinfo = readCpuinfo(), topology: CpuTopologySource = SYSTEM_TOPOLOGY): CpuFeatures {
  const flagsLine = cpuinfo.split('\n').find((line) => line.startsWith('flags'));
  const present = new Set(flagsLine ? flagsLine.slice(flagsLine.indexOf(':') + 1).trim().split(/\s+/) : []);
  const simdFlags = SIMD_FLAGS.filter((flag) => present.has(flag));
  const has = (flag: string) => present.has(flag);
  const isa = has('amx_int8') ? 'amx' : has('avx512_vnni') ? 'avx512-vnni' : has('avx512f') ? 'avx512' : has('avx2') ? 'avx2' : 'baseline';
  return { model: cpus()[0]?.model ?? 'unknown', cores: cpus().length, physicalCores: countPhysicalCores(topology), simdFlags, isa };
}

/** Where the CPU topology is read from; tests hand in their own files. */
export interface CpuTopologySource {
  /** Reads a file (/proc/self/status, /sys/devices/system/cpu/...) or throws. */
  read(path: string): string;
  /** The logical CPUs usable when the files cannot be read. */
  fallback(): number;
}

const SYSTEM_TOPOLOGY: CpuTopologySource = { read: (path) => readFileSync(path, 'utf8'), fallback: availableParallelism };

/**
 * Intra-op threads for onnxruntime when none are configured. Its own default is not safe to
 * inherit: on a 2-vCPU AMD EPYC VM it ran one thread (measured: every forward pass at half the
 * machine, prefill 39 vs 64 tok/s, decode 4.8 vs 7.5 tok/s against 2 threads). One thread per
 * physical core instead: hyperthread siblings share one core's vector units, so they add little
 * to the matrix multiplies and make the thread pool's barriers wait on the slower sibling.
 */
export function defaultIntraOpThreads(cpu: Pick<CpuFeatures, 'physicalCores'> = detectCpu()): number {
  return Math.max(1, cpu.physicalCores);
}

/**
 * Distinct (package, core) pairs over the CPUs in this process's affinity list (Linux sysfs); the
 * usable logical CPU count where that cannot be read.
 */
export function countPhysicalCores(source: CpuTopologySource = SYSTEM_TOPOLOGY): number {
  try {
    const allowedLine = source.read('/proc/self/status').split('\n').find((line) => line.startsWith('Cpus_allowed_list:'));
    if (!allowedLine) return source.fallback();
    const allowed = parseCpuList(allowedLine.slice(allowedLine.indexOf(':') + 1));
    const cores = new Set<string>();
    for (const cpu of allowed) {
      const dir = `/sys/devices/system/cpu/cpu${cpu}/topology`;
      cores.add(`${source.read(`${dir}/physical_package_id`).trim()}:${source.read(`${dir}/core_id`).trim()}`);
    }
    return cores.size > 0 ? cores.size : source.fallback();
  } catch {
    return source.fallback();
  }
}

/** A kernel CPU list ("0-3,8,10-11") as CPU numbers. */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.trim().split(',').filter((p) => p.length > 0)) {
    const [from, to = from] = part.split('-').map((n) => Number.parseInt(n, 10));
    if (!Number.isInteger(from) || !Number.isInteger(to) || to < from) throw new Error(`not a CPU list: ${list}`);
    for (let cpu = from; cpu <= to; cpu++) cpus.push(cpu);
  }
  return cpus;
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // Not Linux, or /proc hidden: no flags known, the baseline is assumed.
    return '';
  }
}
