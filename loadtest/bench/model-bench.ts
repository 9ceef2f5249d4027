import { siblingModule } from '../../src/engine/worker/spawn-worker.js';
import { modelWeightBytes } from './bench-models.js';
import { runInChildProcess } from './fork-module.js';
import type { LlamaCppPeer } from './llama-cpp-reference.js';
import { describeMachine, type MachineInfo } from './machine-info.js';
import { measureReadBandwidth, type BandwidthOptions, type BandwidthResult } from './memory-bandwidth.js';
import type { ModelProbeParams, ModelProbeResult } from './model-bench-child.js';

export interface ModelBenchOptions {
  /** The models to measure, each in its own child process, in this order. */
  models: BenchModelEntry[];
  /** Everything of ModelProbeParams but the folder. */
  probe: Omit<ModelProbeParams, 'modelDir'>;
  bandwidth: BandwidthOptions;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

/** A model folder to measure; `peer` names the llama.cpp quantization it is compared with, if any. */
export interface BenchModelEntry {
  label: string;
  dir: string;
  peer?: LlamaCppPeer;
}

export interface ModelBenchEntry extends ModelProbeResult, BenchModelEntry {
  /** Bytes of model.onnx + model.onnx.data: what one decode step reads (see modelWeightBytes). */
  weightBytes: number;
  /**
   * Decode's memory roofline: a step reads every weight once, so no decode can beat
   * bandwidth / weightBytes tokens per second. `ratio` is measured decode tok/s over it.
   */
  roofline: { singleCoreTokPerSec: number; ratio: number; allCoresTokPerSec: number | null; allCoresRatio: number | null };
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
 * own peak RSS; then each model's decode rate against the roofline the bandwidth allows.
 */
export async function runModelBench(options: ModelBenchOptions): Promise<ModelBenchResult> {
  const log = options.log ?? (() => {});
  const machine = describeMachine();
  log(`measuring memory-read bandwidth (${((options.bandwidth.bufferBytes ?? 2 * 1024 ** 3) / 1024 ** 3).toFixed(1)} GiB buffer)`);
  const bandwidth = await measureReadBandwidth(options.bandwidth);
  log(`bandwidth: ${bandwidth.memchrGBps.toFixed(1)} GB/s one core (memchr)` + (bandwidth.allCores ? `, ${bandwidth.allCores.GBps.toFixed(1)} GB/s on ${bandwidth.allCores.threads} threads` : ''));
  const childModule = siblingModule(import.meta.url, 'model-bench-child');
  const models: ModelBenchEntry[] = [];
  for (const { label, dir, peer } of options.models) {
    log(`${label}: loading ${dir} in a child process`);
    const result = await runInChildProcess<ModelProbeResult>(childModule, { ...options.probe, modelDir: dir } satisfies ModelProbeParams);
    const weightBytes = modelWeightBytes(dir);
    const singleCoreTokPerSec = (bandwidth.memchrGBps * 1e9) / weightBytes;
    const allCoresTokPerSec = bandwidth.allCores ? (bandwidth.allCores.GBps * 1e9) / weightBytes : null;
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
    });
    log(`${label}: decode ${result.decode.tokPerSec.toFixed(2)} tok/s, prefill ${result.prefill.bestTokPerSec.toFixed(1)} tok/s`);
  }
  return { kind: 'model', machine, bandwidth, probe: options.probe, models };
}
