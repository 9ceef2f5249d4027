import type { EngineBenchResult } from './engine-bench.js';
import { gigabytes, loadTriple, markdownTable } from './markdown-table.js';

/** The engine's goals from issue 3 and the worker-thread design. */
export const ENGINE_GOALS = { speedupAt8: 3, overheadShare: 0.02, lagP99Ms: 20 } as const;

const percent = (share: number) => `${(share * 100).toFixed(2)}%`;

/**
 * The engine benchmark as Markdown: one row per concurrency (its best round, with every round's
 * rate beside it), the baseline, and the goal checks.
 */
export function formatEngineBench(result: EngineBenchResult): string {
  const { machine, options, engine, phases, best, baseline } = result;
  const lines: string[] = [];
  lines.push(`Machine: ${machine.cpuModel}, ${machine.cores} cores, ${gigabytes(machine.memoryBytes)} RAM; Node ${machine.node}, onnxruntime-node ${machine.onnxruntime}; load average at start ${loadTriple(machine.loadAverage)}`);
  lines.push(
    `Model: ${engine.modelDir} (${gigabytes(engine.weightBytes)} of weights), engine loaded in ${engine.loadSeconds.toFixed(1)} s; ${engine.maxSeqs} KV rows of ${engine.maxLen}; ` +
      `threads ${options.threads ?? 'onnxruntime default'}; prompts of ${options.promptTokens} tokens, ${options.maxTokens} generated tokens per request (greedy, ignore_eos); ${options.rounds} round(s)`,
  );
  lines.push('');
  lines.push(
    markdownTable(
      ['streams', 'decode tok/s (full batch)', 'x single', 'every round tok/s (CPU share)', 'end-to-end tok/s', 'median step ms', 'median forward ms', 'overhead in step', 'gap between steps', 'lag p50 / p99 / max ms', 'load avg start / end'],
      best.map((p, i) => [
        String(p.concurrency),
        p.fullBatch.decodeTokPerSec.toFixed(2),
        result.scaling[i].speedup.toFixed(2),
        phases
          .filter((q) => q.concurrency === p.concurrency)
          .map((q) => `${q.fullBatch.decodeTokPerSec.toFixed(2)} (${q.cpuShare.toFixed(2)})`)
          .join(', '),
        p.endToEndTokPerSec.toFixed(2),
        p.fullBatch.medianStepMs.toFixed(1),
        p.fullBatch.medianForwardMs.toFixed(1),
        `${percent(p.fullBatch.overheadShare)} (${p.fullBatch.medianOverheadMs.toFixed(2)} ms)`,
        percent(p.fullBatch.gapShare),
        `${p.eventLoopLag.p50Ms.toFixed(1)} / ${p.eventLoopLag.p99Ms.toFixed(1)} / ${p.eventLoopLag.maxMs.toFixed(1)}`,
        `${p.loadAverage.start[0].toFixed(2)} / ${p.loadAverage.end[0].toFixed(2)}`,
      ]),
    ),
  );
  lines.push('');
  lines.push('Decode tok/s: tokens of the steps where every stream decoded (no prefill) over their span, gaps between steps included. Overhead in step: StepReport durationMs - forwardMs over durationMs. Gap: time between steps (the worker posting events and taking messages) over the span.');
  const single = best.find((p) => p.concurrency === 1);
  const widest = best[best.length - 1];
  if (baseline) {
    lines.push(
      `Baseline: ${baseline.library} AutoModelForCausalLM.generate() (greedy, same prompts and counts), ${baseline.requests} requests one after another on the main thread: ` +
        `load ${baseline.loadSeconds.toFixed(1)} s, decode ${baseline.decodeTokPerSec.toFixed(2)} tok/s (best request ${baseline.bestRunDecodeTokPerSec.toFixed(2)}), end to end ${baseline.endToEndTokPerSec.toFixed(2)} tok/s, ` +
        `${(baseline.runs.reduce((s, r) => s + r.wallMs, 0) / 1000).toFixed(1)} s in all; CPU share ${baseline.cpuShare.toFixed(2)}; main-thread lag p99 ${baseline.eventLoopLag.p99Ms.toFixed(0)} ms, max ${baseline.eventLoopLag.maxMs.toFixed(0)} ms; ` +
        `load avg ${baseline.loadAverage.start[0].toFixed(2)} / ${baseline.loadAverage.end[0].toFixed(2)}`,
    );
    if (single) {
      lines.push(`Engine single stream vs baseline decode: ${(single.fullBatch.decodeTokPerSec / baseline.decodeTokPerSec).toFixed(2)}x (best against best: ${(single.fullBatch.decodeTokPerSec / baseline.bestRunDecodeTokPerSec).toFixed(2)}x)`);
    }
    lines.push(`Engine, ${widest.concurrency} streams at once, end to end vs the baseline running them one after another: ${(widest.endToEndTokPerSec / baseline.endToEndTokPerSec).toFixed(2)}x`);
  }
  const at8 = result.scaling.find((s) => s.concurrency === 8);
  const worstOverhead = Math.max(...best.map((p) => p.fullBatch.overheadShare));
  const worstLag = Math.max(...phases.map((p) => p.eventLoopLag.p99Ms));
  const verdict = (met: boolean) => (met ? 'MET' : 'NOT MET');
  lines.push(
    'Goals: ' +
      [
        at8 ? `8 streams >= ${ENGINE_GOALS.speedupAt8}x single: ${at8.speedup.toFixed(2)}x ${verdict(at8.speedup >= ENGINE_GOALS.speedupAt8)}` : null,
        `overhead < ${percent(ENGINE_GOALS.overheadShare)} of step: worst ${percent(worstOverhead)} ${verdict(worstOverhead < ENGINE_GOALS.overheadShare)}`,
        `lag p99 < ${ENGINE_GOALS.lagP99Ms} ms: worst ${worstLag.toFixed(1)} ms ${verdict(worstLag < ENGINE_GOALS.lagP99Ms)}`,
      ]
        .filter((goal) => goal !== null)
        .join('; '),
  );
  return lines.join('\n');
}
