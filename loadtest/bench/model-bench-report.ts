import { formatLlamaCppComparison, llamaCppBuildLine } from './llama-cpp-report.js';
import { gigabytes, loadTriple, markdownTable } from './markdown-table.js';
import type { ModelBenchResult } from './model-bench.js';
import type { TimedRun } from './model-workloads.js';

/** The model benchmark as Markdown: machine, bandwidth, one row per model, llama.cpp side by side. */
export function formatModelBench(result: ModelBenchResult): string {
  const { machine, bandwidth, probe } = result;
  const lines: string[] = [];
  lines.push(`Machine: ${machine.cpuModel}, ${machine.cores} cores, ${gigabytes(machine.memoryBytes)} RAM, L3 ${machine.l3Cache ?? '?'}; flags ${machine.simdFlags.join(' ')}`);
  lines.push(`Node ${machine.node}, onnxruntime-node ${machine.onnxruntime}; load average at start ${loadTriple(machine.loadAverage)}`);
  if (probe.spinning) lines.push(`onnxruntime threads spinning: ${probe.spinning} (--spinning)`);
  const build = result.models.find((m) => m.llamaCpp)?.llamaCpp?.build;
  if (build) lines.push(llamaCppBuildLine(build));
  lines.push('');
  lines.push(
    `Memory-read bandwidth, best of ${bandwidth.passes} passes over ${(bandwidth.bufferBytes / 1024 ** 3).toFixed(1)} GiB: ` +
      `memchr ${bandwidth.memchrGBps.toFixed(1)} GB/s, JS 8-accumulator sum ${bandwidth.jsSumGBps.toFixed(1)} GB/s (one core)` +
      (bandwidth.allCores ? `; ${bandwidth.allCores.GBps.toFixed(1)} GB/s with ${bandwidth.allCores.threads} threads at once` : '') +
      `. In cache (1 MiB): memchr ${bandwidth.inCacheMemchrGBps.toFixed(0)} GB/s, JS sum ${bandwidth.inCacheJsSumGBps.toFixed(1)} GB/s.`,
  );
  lines.push('');
  lines.push(
    markdownTable(
      ['model', 'weights', 'load s', 'RSS after load', 'peak RSS', `decode tok/s (${probe.decodeSteps} steps)`, 'step ms median / min', 'decode CPU share', `prefill ${probe.prefillTokens} tok/s`, `chunked ${probe.chunkTokens} tok/s`, 'roofline tok/s', 'decode / roofline', 'load avg start / end (1 min)'],
      result.models.map((m) => [
        m.label,
        gigabytes(m.weightBytes),
        m.loadSeconds.toFixed(1),
        gigabytes(m.rssAfterLoadBytes),
        gigabytes(m.peakRssBytes),
        m.decode.tokPerSec.toFixed(2),
        `${m.decode.medianStepMs.toFixed(1)} / ${m.decode.minStepMs.toFixed(1)}`,
        m.decode.cpuShare.toFixed(2),
        m.prefill.bestTokPerSec.toFixed(1),
        m.chunkedPrefill.bestTokPerSec.toFixed(1),
        m.roofline.singleCoreTokPerSec.toFixed(2) + (m.roofline.allCoresTokPerSec !== null ? ` (${m.roofline.allCoresTokPerSec.toFixed(2)} all cores)` : ''),
        m.roofline.ratio.toFixed(2) + (m.roofline.allCoresRatio !== null ? ` (${m.roofline.allCoresRatio.toFixed(2)})` : ''),
        `${m.loadAverage.start[0].toFixed(2)} / ${m.loadAverage.end[0].toFixed(2)}`,
      ]),
    ),
  );
  lines.push('');
  const runs = (list: TimedRun[]) => list.map((r) => `${r.tokPerSec.toFixed(1)} (CPU share ${r.cpuShare.toFixed(2)})`).join(', ');
  lines.push(`Prefill runs, tok/s: ${result.models.map((m) => `${m.label}: one shot ${runs(m.prefill.runs)}; chunked ${runs(m.chunkedPrefill.runs)}`).join(' | ')}`);
  lines.push('CPU share: the process\'s CPU time over wall time x cores; onnxruntime\'s threads spin, so near 1 means the run had the machine to itself, well below 1 that other work took cores (figures understated).');
  for (const model of result.models) {
    if (!model.llamaCpp) continue;
    lines.push('');
    lines.push(formatLlamaCppComparison(model));
  }
  return lines.join('\n');
}
