import { gigabytes, loadTriple, markdownTable } from '../bench/markdown-table.js';
import type { ContractBenchResult, ContractSideSummary } from './contract-bench.js';

/** The issue's goal for the contract workload: our throughput over llama.cpp's. */
export const CONTRACT_THROUGHPUT_GOAL = 1.5;

/** The contract workload's result as the markdown BENCHMARKS.md quotes. */
export function formatContractBench(result: ContractBenchResult): string {
  const m = result.machine;
  const lines = [
    '# Contract workload: qwen3-serve (Batch API) against llama.cpp on the same token ids',
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.simdFlags.join(' ') || 'no AVX2'}, ${gigabytes(m.memoryBytes)} memory; node ${m.node}, onnxruntime-node ${m.onnxruntime}.`,
    `Workload: ${result.requests} contract prompts of ${result.promptTokens.min}-${result.promptTokens.max} tokens (${result.promptTokens.total} in all), ${result.outputTokens} tokens generated each (greedy, end of sequence ignored); ${result.slots} rows / sequences, ${result.threads} threads.`,
    `qwen3-serve: ${result.modelDir}${result.ours ? `; \`qwen3-serve serve ${result.ours.serveArgs.join(' ')}\`` : ' (not run)'}.`,
    `llama.cpp: ${result.gguf ?? '(none)'}${result.llamaCpp ? `; node-llama-cpp ${result.llamaCpp.run.build.nodeLlamaCpp} (llama.cpp ${result.llamaCpp.run.build.llamaCppRelease}, ${result.llamaCpp.run.build.buildType} ${result.llamaCpp.run.build.cpuVariant} CPU build), flash attention ${result.llamaCpp.run.flashAttention ? 'on' : 'off'}, batch ${result.llamaCpp.run.batchSize}` : ' (not run)'}.`,
    '',
  ];
  const sides: [string, ContractSideSummary | null][] = [
    ['qwen3-serve', result.ours],
    ['llama.cpp', result.llamaCpp],
  ];
  const rows = sides
    .filter((side): side is [string, ContractSideSummary] => side[1] !== null)
    .map(([name, s]) => [name, s.wallSeconds.toFixed(1), s.tokensPerSecond.toFixed(2), s.outputTokensPerSecond.toFixed(3), s.requestsPerMinute.toFixed(2), s.cpuShare.toFixed(2)]);
  lines.push(markdownTable(['engine', 'wall s', 'tokens/s (prompt + output)', 'output tokens/s', 'summaries/min', 'CPU share'], rows), '');
  if (result.ours) lines.push(`qwen3-serve took ${result.ours.cachedPromptTokens} prompt tokens from its prefix cache (the chat template's shared start); load average ${loadTriple(result.ours.loadAverage.start)} at the start, ${loadTriple(result.ours.loadAverage.end)} at the end.`);
  if (result.llamaCpp) lines.push(`llama.cpp: mean time to first token ${result.llamaCpp.meanTtftSeconds.toFixed(1)} s from a sequence taking its prompt; load average ${loadTriple(result.llamaCpp.run.loadAverage.start)} at the start, ${loadTriple(result.llamaCpp.run.loadAverage.end)} at the end.`);
  if (result.throughputRatio !== null) {
    const met = result.throughputRatio >= CONTRACT_THROUGHPUT_GOAL ? 'MET' : 'NOT MET';
    lines.push('', `Throughput ratio (qwen3-serve / llama.cpp, the inverse of the wall times' ratio): **${result.throughputRatio.toFixed(2)}x** (goal >= ${CONTRACT_THROUGHPUT_GOAL}x: ${met}).`);
  }
  return `${lines.join('\n')}\n`;
}
