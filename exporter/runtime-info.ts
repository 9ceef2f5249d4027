import { Gauge, type Registry } from 'prom-client';
import type { CpuFeatures } from '../src/model/runner/cpu-features.js';

/** What the engine reports about the paths it runs, for the info series. */
export interface RuntimeInfo {
  device: string;
  cpu: CpuFeatures;
  /** onnxruntime intra-op threads. */
  threads: number;
  /** How those threads wait between operators: always, within-run or never. */
  spinning: string;
  kvOutputs: string;
  /** How the KV cache is held: float32, float16 or int8. */
  kvCache: string;
  /** Whether prefill chunks run through a separate int8 prefill graph. */
  prefillGraph: boolean;
}

/**
 * `qwen3_serve_runtime_info`: always 1, its labels say which speed paths this process runs (the
 * CPU's instruction set, which selects onnxruntime's kernels, and how the graph returns KV), so a
 * dashboard can tell an AVX2 replica from an AMX one, or a builder export from a cache-reading one.
 */
export function registerRuntimeInfo(registry: Registry, modelName: string, info: RuntimeInfo): void {
  const gauge = new Gauge({
    name: 'qwen3_serve_runtime_info',
    help: 'Speed paths of this process (value 1): device, CPU model and ISA (avx2, avx512, avx512-vnni, amx), SIMD flags, cores, onnxruntime intra-op threads and how they wait between operators (spinning), KV outputs of the graph, KV cache type (float32, float16, int8), whether prefill runs through an int8 prefill graph.',
    labelNames: ['model_name', 'device', 'cpu_model', 'isa', 'simd_flags', 'cores', 'threads', 'spinning', 'kv_outputs', 'kv_cache', 'prefill_graph'],
    registers: [registry],
  });
  gauge.set(
    {
      model_name: modelName,
      device: info.device,
      cpu_model: info.cpu.model,
      isa: info.cpu.isa,
      simd_flags: info.cpu.simdFlags.join(' '),
      cores: String(info.cpu.cores),
      threads: String(info.threads),
      spinning: info.spinning,
      kv_outputs: info.kvOutputs,
      kv_cache: info.kvCache,
      prefill_graph: info.prefillGraph ? 'int8' : 'none',
    },
    1,
  );
}
