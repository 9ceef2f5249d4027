import { describe, expect, it } from 'vitest';
import { countPhysicalCores, type CpuTopologySource, defaultIntraOpThreads, detectCpu, parseCpuList } from '../src/model/runner/cpu-features.js';

/** A sysfs of `siblings` hyperthreads per core, cores numbered per package as Linux does, CPUs allowed by `allowed`. */
function topology(packages: number, coresPerPackage: number, siblings: number, allowed: string): CpuTopologySource & { reads: string[] } {
  const files = new Map<string, string>([['/proc/self/status', `Name:\tnode\nCpus_allowed:\tff\nCpus_allowed_list:\t${allowed}\nMems_allowed:\t1\n`]]);
  const logical = packages * coresPerPackage * siblings;
  for (let cpu = 0; cpu < logical; cpu++) {
    // Linux numbers the first sibling of every core before any second sibling.
    const core = cpu % (packages * coresPerPackage);
    files.set(`/sys/devices/system/cpu/cpu${cpu}/topology/physical_package_id`, `${Math.floor(core / coresPerPackage)}\n`);
    files.set(`/sys/devices/system/cpu/cpu${cpu}/topology/core_id`, `${core % coresPerPackage}\n`);
  }
  const reads: string[] = [];
  return {
    reads,
    read(path) {
      reads.push(path);
      const text = files.get(path);
      if (text === undefined) throw new Error(`ENOENT: ${path}`);
      return text;
    },
    fallback: () => 99,
  };
}

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
    expect(here.physicalCores).toBeGreaterThan(0);
    expect(here.physicalCores).toBeLessThanOrEqual(here.cores);
    expect(defaultIntraOpThreads(here)).toBe(here.physicalCores);
    expect(here.model.length).toBeGreaterThan(0);
  });
});

describe('countPhysicalCores', () => {
  it('counts each core once over the CPUs the process may run on', () => {
    // 2 vCPUs, no SMT (the VMs here): 2 threads, where onnxruntime's own default ran 1.
    expect(countPhysicalCores(topology(1, 2, 1, '0-1'))).toBe(2);
    // 8 cores with 2 hyperthreads each: siblings count once.
    expect(countPhysicalCores(topology(1, 8, 2, '0-15'))).toBe(8);
    // Two packages share core ids: (package, core) pairs are distinct.
    expect(countPhysicalCores(topology(2, 4, 1, '0-7'))).toBe(8);
    // A cpuset or taskset of 3 CPUs, two of them siblings of one core (cpu1 and cpu9).
    expect(countPhysicalCores(topology(1, 8, 2, '1,9,3'))).toBe(2);
  });

  it('reads only the allowed CPUs and falls back to the usable CPU count when sysfs is missing', () => {
    const source = topology(1, 4, 1, '2-3');
    expect(countPhysicalCores(source)).toBe(2);
    expect(source.reads.filter((path) => path.includes('/cpu0/') || path.includes('/cpu1/'))).toEqual([]);
    expect(countPhysicalCores({ read: () => { throw new Error('ENOENT'); }, fallback: () => 3 })).toBe(3);
    expect(countPhysicalCores(topology(1, 2, 1, '0-5'))).toBe(99);
    expect(countPhysicalCores({ read: () => 'Name:\tnode\n', fallback: () => 5 })).toBe(5);
  });

  it('parses kernel CPU lists', () => {
    expect(parseCpuList('0-3,8,10-11\n')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList(' 5 ')).toEqual([5]);
    expect(() => parseCpuList('3-1')).toThrow(/CPU list/);
    expect(() => parseCpuList('a')).toThrow(/CPU list/);
  });
});
