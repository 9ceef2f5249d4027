import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/**
 * The CPU the server runs on, as far as it decides which kernels run: onnxruntime picks its
 * MatMulNBits and integer GEMM kernels at run time from these features (AVX2, AVX-512 with VNNI,
 * AMX), and the machines this project runs on differ exactly there (DESIGN.md).
 */
export interface CpuFeatures {
  model: string;
  /** Logical CPUs the process can see. */
  cores: number;
  /** The /proc/cpuinfo flags among SIMD_FLAGS that this CPU has. */
  simdFlags: string[];
  /** The widest instruction set of those, the one the fastest kernels need. */
  isa: 'amx' | 'avx512-vnni' | 'avx512' | 'avx2' | 'baseline';
}

/** The flags that select onnxruntime's CPU kernels (and llama.cpp's build variant). */
export const SIMD_FLAGS = ['avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx_vnni', 'avx512_bf16', 'avx512_fp16', 'amx_tile', 'amx_int8', 'amx_bf16'] as const;

export function detectCpu(cpuinfo = readCpuinfo()): CpuFeatures {
  const flagsLine = cpuinfo.split('\n').find((line) => line.startsWith('flags'));
  const present = new Set(flagsLine ? flagsLine.slice(flagsLine.indexOf(':') + 1).trim().split(/\s+/) : []);
  const simdFlags = SIMD_FLAGS.filter((flag) => present.has(flag));
  const has = (flag: string) => present.has(flag);
  const isa = has('amx_int8') ? 'amx' : has('avx512_vnni') ? 'avx512-vnni' : has('avx512f') ? 'avx512' : has('avx2') ? 'avx2' : 'baseline';
  return { model: cpus()[0]?.model ?? 'unknown', cores: cpus().length, simdFlags, isa };
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // Not Linux, or /proc hidden: no flags known, the baseline is assumed.
    return '';
  }
}
