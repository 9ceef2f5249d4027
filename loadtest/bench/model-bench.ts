import { statSync } from 'node:fs';
import { siblingModule } from '../../src/engine/worker/spawn-worker.js';
import { modelWeightBytes } from './bench-models.js';
import { runInChildProcess } from './fork-module.js';
import type { LlamaCppPeer, LlamaCppProbeParams, LlamaCppProbeResult } from './llama-cpp-baseline.js';
import { describeMachine, type MachineInfo } from './machine-info.js';
import { measureReadBandwidth, type BandwidthOptions, type BandwidthResult } from './memory-bandwidth.js';
import type { ModelProbeParams, ModelProbeResult } from './model-bench-child.js';

export interface ModelBenchOptions {
  /** The models to measure, each in its own child process, in this order. */
  models: BenchModelEntry[];
  /** Everything of ModelProbeParams but the folder. */
  probe: Omit<ModelProbeParams, 'modelDir'>;
  bandwidth: BandwidthOptions;
  /** llama.cpp's threads (for prompt batches and decode alike). */
  llamaCppThreads: number;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

/** A model folder to measure and, if any, the GGUF of the same weights llama.cpp runs beside it. */
export interface BenchModelEntry {
  label: string;
  dir: string;
  peer?: LlamaCppPeer;
}

/** llama.cpp's figures on the peer GGUF, measured right after ours in the same run. */
export interface LlamaCppBaseline extends LlamaCppProbeResult, LlamaCppPeer {
  ggufBytes: number;
}

export interface ModelBenchEntry extends ModelProbeResult, BenchModelEntry {
  /** Bytes of model.onnx + model.onnx.data: what one decode step reads (see modelWeightBytes). */
  weightBytes: number;
  /**
   * Decode's memory roofline: a step reads every weight once, so no decode can beat
   * bandwidth / weightBytes tokens per second. `ratio` is measured decode tok/s over it.
   */
  roofline: { singleCoreTokPerSec: number; ratio: number; allCoresTokPerSec: number | null; allCoresRatio: number | null };
  /** Present when the entry has a peer. */
  llamaCpp?: LlamaCppBaseline;
}

export interface ModelBenchResult {
  kind: 'model';
  machine: MachineInfo;
  bandwidth: BandwidthResult;
  probe: Omit<ModelProbeParams, 'modelDir'>;
  models: ModelBenchEntry[];
}

/**
 * The model benchmark (issue 2): memory bandwidth first, in this process while no model is
 * loaded; then each model in a fresh child process (model-bench-child.ts) for a cold load and its
 * own peak RSS, followed by its llama.cpp peer on the same workloads in another fresh child
 * (llama-cpp-baseline.ts), so every figure has llama.cpp's beside it from the same machine and
 * minute; then each model's decode rate against the roofline the bandwidth allows.
 */
export async function runModelBench(options: ModelBenchOptions): Promise<ModelBenchResult> {
  const log = options.log ?? (() => {});
  const machine = describeMachine();
  log(`measuring memory-read bandwidth (${((options.bandwidth.bufferBytes ?? 2 * 1024 ** 3) / 1024 ** 3).toFixed(1)} GiB buffer)`);
  const bandwidth = await measureReadBandwidth(options.bandwidth);
  log(`bandwidth: ${bandwidth.memchrGBps.toFixed(1)} GB/s one core (memchr)` + (bandwidth.allCores ? `, ${bandwidth.allCores.GBps.toFixed(1)} GB/s on ${bandwidth.allCores.threads} threads` : ''));
  const childModule = siblingModule(import.meta.url, 'model-bench-child');
  const llamaCppModule = siblingModule(import.meta.url, 'llama-cpp-baseline');
  const models: ModelBenchEntry[] = [];
  for (const { label, dir, peer } of options.models) {
    log(`${label}: loading ${dir} in a child process`);
    const result = await runInChildProcess<ModelProbeResult>(childModule, { ...options.probe, modelDir: dir } satisfies ModelProbeParams);
    const weightBytes = modelWeightBytes(dir);
    const singleCoreTokPerSec = (bandwidth.memchrGBps * 1e9) / weightBytes;
    const allCoresTokPerSec = bandwidth.allCores ? (bandwidth.allCores.GBps * 1e9) / weightBytes : null;
    log(`${label}: decode ${result.decode.tokPerSec.toFixed(2)} tok/s, prefill ${result.prefill.bestTokPerSec.toFixed(1)} tok/s`);
    models.push({
      label,
      dir,
      peer,
      weightBytes,
      ...result,
      roofline: {
        singleCoreTokPerSec,
        ratio: result.decode.tokPerSec / singleCoreTokPerSec,
        allCoresTokPerSec,
        allCoresRatio: allCoresTokPerSec === null ? null : result.decode.tokPerSec / allCoresTokPerSec,
      },
      llamaCpp: peer ? await measurePeer(llamaCppModule, peer, options, log) : undefined,
    });
  }
  return { kind: 'model', machine, bandwidth, probe: options.probe, models };
}

async function measurePeer(module: URL, peer: LlamaCppPeer, options: ModelBenchOptions, log: (line: string) => void): Promise<LlamaCppBaseline> {
  log(`llama.cpp ${peer.type}: loading ${peer.gguf} in a child process (${options.llamaCppThreads} threads)`);
  const { chunkTokens: _chunk, threads: _threads, ...workloads } = options.probe;
  const params: LlamaCppProbeParams = { ...workloads, ggufPath: peer.gguf, threads: options.llamaCppThreads };
  const result = await runInChildProcess<LlamaCppProbeResult>(module, params);
  log(`llama.cpp ${peer.type} (${result.build.cpuVariant} build): decode ${result.decode.tokPerSec.toFixed(2)} tok/s, prefill ${result.prefill.bestTokPerSec.toFixed(1)} tok/s`);
  return { ...peer, ...result, ggufBytes: statSync(peer.gguf).size };
}
