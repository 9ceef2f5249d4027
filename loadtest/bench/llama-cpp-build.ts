import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Llama } from 'node-llama-cpp';
import { packageVersion } from './machine-info.js';

/** Which llama.cpp ran: the binding, its build and the CPU kernels it picked for this machine. */
export interface LlamaCppBuild {
  nodeLlamaCpp: string;
  /** The llama.cpp release tag the binding's binaries were built from, as the binding records it. */
  llamaCppRelease: string;
  buildType: 'prebuilt' | 'localBuild';
  /**
   * The CPU backend variant loaded, e.g. `haswell` (AVX2) or `sapphirerapids` (AVX-512, VNNI,
   * AMX): the prebuilt binaries ship one ggml CPU library per x86 generation and ggml loads the
   * best one this CPU supports. `default` for a single-library build, `unknown` where it cannot
   * be read (outside Linux).
   */
  cpuVariant: string;
  /** File name of the loaded ggml CPU library, e.g. libggml-cpu-haswell.so (null when unknown). */
  cpuLibrary: string | null;
  /** ggml's own list of the CPU features the loaded kernels use, e.g. "AVX2 = 1 | FMA = 1 | ...". */
  systemInfo: string;
}

/**
 * Reads the build after getLlama() has loaded its backends. The variant is not exposed by the
 * binding's API, but ggml keeps exactly the chosen CPU library loaded (it unloads the others
 * after scoring them), so the process's own memory map names it.
 */
export function describeLlamaCppBuild(llama: Llama): LlamaCppBuild {
  const library = loadedCpuLibrary();
  const variant = library ? (/^libggml-cpu-(.+)\.so/.exec(library)?.[1] ?? 'default') : 'unknown';
  return {
    nodeLlamaCpp: packageVersion('node-llama-cpp'),
    llamaCppRelease: llama.llamaCppRelease.release,
    buildType: llama.buildType,
    cpuVariant: variant,
    cpuLibrary: library,
    systemInfo: llama.systemInfo.trim(),
  };
}

/** The ggml CPU backend library mapped into this process (Linux /proc/self/maps), or null. */
function loadedCpuLibrary(): string | null {
  let maps: string;
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return null;
  }
  const libraries = new Set(
    maps
      .split('\n')
      .map((line) => line.slice(line.indexOf('/')))
      .filter((path) => /\/libggml-cpu[^/]*\.so/.test(path))
      .map((path) => basename(path)),
  );
  return libraries.size > 0 ? [...libraries].join(', ') : null;
}
