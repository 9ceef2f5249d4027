import type { LlamaCppBuild } from './llama-cpp-build.js';
import { gigabytes, markdownTable } from './markdown-table.js';
import type { ModelBenchEntry } from './model-bench.js';

/** One line naming the llama.cpp that ran: binding, release, CPU variant and ggml's feature list. */
export function llamaCppBuildLine(build: LlamaCppBuild): string {
  return (
    `llama.cpp: node-llama-cpp ${build.nodeLlamaCpp} (${build.buildType} binaries, llama.cpp release ${build.llamaCppRelease}), ` +
    `CPU variant ${build.cpuVariant}${build.cpuLibrary ? ` (${build.cpuLibrary})` : ''}; ggml: ${build.systemInfo}`
  );
}

/**
 * Our figures beside llama.cpp's for one model and its GGUF peer, with the ratio ours / llama.cpp
 * (above 1: we are faster; for TTFT, below 1: we answer sooner).
 */
export function formatLlamaCppComparison(model: ModelBenchEntry): string {
  const peer = model.llamaCpp;
  if (!peer) return '';
  const rate = (ours: number, theirs: number) => [ours.toFixed(2), theirs.toFixed(2), `${(ours / theirs).toFixed(2)}x`];
  const { sequences: w } = peer;
  const workload = `${w.count} x (${w.promptTokens} prompt + ${w.outputTokens} output)`;
  const rows = [
    ['load s', model.loadSeconds.toFixed(1), peer.loadSeconds.toFixed(1), `${(model.loadSeconds / peer.loadSeconds).toFixed(2)}x`],
    ['peak RSS', gigabytes(model.peakRssBytes), gigabytes(peer.peakRssBytes), `${(model.peakRssBytes / peer.peakRssBytes).toFixed(2)}x`],
    [`prefill ${model.prefill.tokens} tokens, tok/s (best of ${model.prefill.runs.length})`, ...rate(model.prefill.bestTokPerSec, peer.prefill.bestTokPerSec)],
    [`decode after ${model.decode.contextTokens} tokens, tok/s`, ...rate(model.decode.tokPerSec, peer.decode.tokPerSec)],
    [`decode after ${model.longDecode.contextTokens} tokens, tok/s`, ...rate(model.longDecode.tokPerSec, peer.longDecode.tokPerSec)],
    [`${workload}: generated tok/s`, ...rate(model.sequences.tokPerSec, peer.sequences.tokPerSec)],
    [`${workload}: mean TTFT s (lower is better)`, ...rate(model.sequences.meanTtftSeconds, peer.sequences.meanTtftSeconds)],
  ];
  const settings = `${peer.threads} threads, flash attention ${peer.flashAttention ? 'on' : 'off'}, ${peer.batchSize}-token batches, ${gigabytes(peer.ggufBytes)} GGUF`;
  // Both engines' threads busy-wait between operators; a share well below 1 means other work took
  // cores and that side's figure is understated (see cpu-share.ts).
  const share = (ours: number, theirs: number) => `${ours.toFixed(2)} / ${theirs.toFixed(2)}`;
  const bestShare = (runs: { tokPerSec: number; cpuShare: number }[]) => runs.reduce((a, b) => (b.tokPerSec > a.tokPerSec ? b : a)).cpuShare;
  const shares =
    `CPU share, ours / llama.cpp: prefill ${share(bestShare(model.prefill.runs), bestShare(peer.prefill.runs))}, ` +
    `decode ${share(model.decode.cpuShare, peer.decode.cpuShare)}, long decode ${share(model.longDecode.cpuShare, peer.longDecode.cpuShare)}, ` +
    `sequences ${share(model.sequences.cpuShare, peer.sequences.cpuShare)}.`;
  return [`${model.label} vs llama.cpp ${peer.type} (${settings}):`, '', markdownTable(['workload', model.label, `llama.cpp ${peer.type}`, 'ours / llama.cpp'], rows), '', shares].join('\n');
}
