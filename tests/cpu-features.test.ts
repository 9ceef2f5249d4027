import { describe, expect, it } from 'vitest';
import { detectCpu } from '../src/model/runner/cpu-features.js';

/** /proc/cpuinfo's flags line as the two machine kinds this project runs on report it (abridged). */
const ZEN3 = 'processor\t: 0\nflags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx avx2 bmi2 sha_ni vaes\n';
const SAPPHIRE_RAPIDS = 'flags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni avx_vnni avx512_bf16 avx512_fp16 amx_tile amx_int8 amx_bf16\n';

describe('detectCpu', () => {
  it('names the widest ISA and keeps only the flags that choose kernels', () => {
    expect(detectCpu(ZEN3)).toMatchObject({ isa: 'avx2', simdFlags: ['avx2', 'fma'] });
    const spr = detectCpu(SAPPHIRE_RAPIDS);
    expect(spr.isa).toBe('amx');
    expect(spr.simdFlags).toEqual(['avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx_vnni', 'avx512_bf16', 'avx512_fp16', 'amx_tile', 'amx_int8', 'amx_bf16']);
    expect(detectCpu('flags\t: avx2 avx512f avx512_vnni\n').isa).toBe('avx512-vnni');
    expect(detectCpu('flags\t: avx2 avx512f\n').isa).toBe('avx512');
  });

  it('falls back to the baseline without a flags line', () => {
    expect(detectCpu('')).toMatchObject({ isa: 'baseline', simdFlags: [] });
  });

  it('reads this machine', () => {
    const here = detectCpu();
    expect(here.cores).toBeGreaterThan(0);
    expect(here.model.length).toBeGreaterThan(0);
  });
});
