import { gigabytes, markdownTable } from '../bench/markdown-table.js';
import { baselineRequestTimes } from './sequential-baseline.js';
import { PEER_WORKLOAD, type ModelServeResult, type ScenarioResult, type ServeBenchResult, type ServerRun } from './serve-bench.js';
import type { ServiceLevelObjectives } from './serving-metrics.js';

const seconds = (ms: number) => (ms / 1000).toFixed(1);
const ratio = (value: number) => `${value.toFixed(2)}x`;

/** The metric columns every scenario table shares. */
const METRIC_HEADER = ['requests ok / failed', 'out tok/s', 'total tok/s', 'req/s', 'goodput req/s', 'TTFT mean / median / p99 s', 'TPOT mean / median / p99 ms', 'ITL median / p99 ms', 'E2E mean s', 'load avg start / end'];

function metricCells(s: ScenarioResult): string[] {
  const m = s.metrics;
  return [
    `${m.completed} / ${m.failed}`,
    m.outputThroughput.toFixed(2),
    m.totalTokenThroughput.toFixed(2),
    m.requestThroughput.toFixed(3),
    m.requestGoodput === null ? '-' : m.requestGoodput.toFixed(3),
    `${seconds(m.ttftMs.mean)} / ${seconds(m.ttftMs.median)} / ${seconds(m.ttftMs.p99)}`,
    `${m.tpotMs.mean.toFixed(0)} / ${m.tpotMs.median.toFixed(0)} / ${m.tpotMs.p99.toFixed(0)}`,
    `${m.itlMs.median.toFixed(0)} / ${m.itlMs.p99.toFixed(0)}`,
    seconds(m.e2eMs.mean),
    `${s.loadAverage.start[0].toFixed(2)} / ${s.loadAverage.end[0].toFixed(2)}`,
  ];
}

function findLevel(run: ServerRun | null, concurrency: number): ScenarioResult | undefined {
  return run?.scenarios.find((s) => s.dataset === 'random' && s.shape.kind === 'concurrency' && s.shape.concurrency === concurrency);
}

function describeSlo(slo: ServiceLevelObjectives): string {
  const parts = [slo.ttftMs !== undefined ? `TTFT <= ${seconds(slo.ttftMs)} s` : null, slo.tpotMs !== undefined ? `TPOT <= ${slo.tpotMs} ms` : null, slo.e2eMs !== undefined ? `E2E <= ${seconds(slo.e2eMs)} s` : null];
  const given = parts.filter((p) => p !== null);
  return given.length > 0 ? given.join(', ') : 'none given';
}

/** The serving benchmark as Markdown: machine and load, then per model the sweep, baselines, peer comparison and goals. */
export function formatServeBench(result: ServeBenchResult, charts: { name: string; title: string }[] = [], chartDir = '.'): string {
  const { machine, options } = result;
  const loads = result.load.map((s) => s.load[0]).sort((a, b) => a - b);
  const lines: string[] = [];
  lines.push(
    `Machine: ${machine.cpuModel}, ${machine.cores} cores (${machine.simdFlags.join(' ')}), ${gigabytes(machine.memoryBytes)} RAM; Node ${machine.node}, onnxruntime-node ${machine.onnxruntime}. ` +
      `Run started ${result.startedAt}, took ${(result.wallSeconds / 60).toFixed(1)} min${result.codeRevision ? `, code ${result.codeRevision}` : ''}.`,
  );
  lines.push(
    `Machine load over the run (1-min load average, ${loads.length} samples every 5 s): min ${loads[0].toFixed(2)}, median ${loads[Math.floor(loads.length / 2)].toFixed(2)}, max ${loads[loads.length - 1].toFixed(2)} ` +
      `on ${machine.cores} cores${loads[Math.floor(loads.length / 2)] > machine.cores + 0.5 ? ': other work shared the cores, so absolute figures are understated; ratios measured side by side hold better' : ''}.`,
  );
  lines.push(
    `Servers: \`qwen3-serve serve\` processes on 127.0.0.1 (threads ${options.threads ?? 'onnxruntime default'}, --max-waiting ${options.maxWaiting}); client: the OpenAI SDK streaming /v1/completions with token-id prompts, ` +
      `temperature 0, ignore_eos, so every output has exactly its set length. Goodput SLOs: ${describeSlo(options.slo)}.`,
  );
  for (const model of result.models) lines.push('', ...formatModel(model, result));
  for (const chart of charts) lines.push('', `![${chart.title}](${chartDir}/${chart.name})`);
  const failed = result.models.flatMap(allRuns).flatMap((run) => run.scenarios).reduce((sum, s) => sum + s.metrics.failed, 0);
  lines.push('', `Errors below the queue limit: ${failed} failed requests over all scenarios (${failed === 0 ? 'MET' : 'NOT MET'}).`);
  return lines.join('\n');
}

function allRuns(model: ModelServeResult): ServerRun[] {
  return [model.batching, ...(model.noBatching ? [model.noBatching] : []), ...model.prefillSettings.map((p) => p.run)];
}

function formatModel(model: ModelServeResult, result: ServeBenchResult): string[] {
  const { sweep } = result.options;
  const lines = [`### ${model.label} (${gigabytes(model.weightBytes)} of weights)`, ''];
  lines.push(`Concurrency sweep, random prompts of ${sweep.inputTokens} tokens and ${sweep.outputTokens} output tokens (server: ${model.batching.args.join(' ')}):`, '');
  const levels = model.batching.scenarios.filter((s) => s.dataset === 'random' && s.shape.kind === 'concurrency');
  lines.push(
    markdownTable(
      ['concurrency', ...METRIC_HEADER, 'out tok/s x max-seqs 1', 'out tok/s x transformers.js'],
      levels.map((s) => {
        const concurrency = s.shape.kind === 'concurrency' ? s.shape.concurrency : 0;
        const plain = findLevel(model.noBatching, concurrency);
        const hf = model.transformers?.estimates.find((e) => e.concurrency === concurrency);
        return [
          String(concurrency),
          ...metricCells(s),
          plain ? ratio(s.metrics.outputThroughput / plain.metrics.outputThroughput) : '-',
          hf ? ratio(s.metrics.outputThroughput / hf.outputThroughput) : '-',
        ];
      }),
    ),
  );
  const others = model.batching.scenarios.filter((s) => !levels.includes(s));
  if (others.length > 0) {
    lines.push('', 'Other loads on the same server (Poisson arrivals: open loop at the given rate; contract: summarisation prompts of the given lengths):', '');
    lines.push(markdownTable(['scenario', 'prompt tokens', 'output tokens', ...METRIC_HEADER], others.map((s) => [s.name, `${s.inputTokens.min}-${s.inputTokens.max}`, String(s.outputTokens), ...metricCells(s)])));
  }
  if (model.noBatching) {
    lines.push('', `Baseline: the same server with batching off (${model.noBatching.args.join(' ')}):`, '');
    lines.push(markdownTable(['scenario', ...METRIC_HEADER], model.noBatching.scenarios.map((s) => [s.name, ...metricCells(s)])));
  }
  if (model.transformers) {
    const hf = model.transformers.result;
    const times = baselineRequestTimes(hf);
    lines.push(
      '',
      `Baseline: ${hf.library} generate() on the same files, ${hf.runs.length} requests of the sweep's shape one after another (load ${hf.loadSeconds.toFixed(1)} s): ` +
        `${hf.endToEndTokPerSec.toFixed(2)} tok/s end to end, decode ${hf.decodeTokPerSec.toFixed(2)} tok/s, TTFT ${seconds(times.ttftMs)} s, ${seconds(times.wallMs)} s per request. ` +
        'As a server it runs one request at a time, so its figures at each concurrency are worked out from these times (requests queue first come first served): ' +
        model.transformers.estimates.map((e) => `c=${e.concurrency}: ${e.outputThroughput.toFixed(2)} tok/s, mean TTFT ${seconds(e.meanTtftMs)} s`).join('; ') +
        '.',
    );
  }
  lines.push('', ...formatPeer(model));
  lines.push('', ...formatScaling(model));
  return lines;
}

/** Our figures on llama.cpp's workload (8 x 113 in / 64 out) against its published ones and the goals. */
function formatPeer(model: ModelServeResult): string[] {
  const peer = PEER_WORKLOAD;
  const level = (run: ServerRun | null) => (run ? findLevel(run, peer.concurrency) : undefined);
  const ours = level(model.batching);
  const shapeMatches = ours !== undefined && ours.inputTokens.min === peer.inputTokens && ours.inputTokens.max === peer.inputTokens && ours.outputTokens === peer.outputTokens && ours.metrics.completed + ours.metrics.failed === peer.concurrency;
  if (!ours || !shapeMatches) return [`(The sweep did not run llama.cpp's workload, ${peer.concurrency} requests of ${peer.inputTokens} in / ${peer.outputTokens} out at concurrency ${peer.concurrency}: no peer comparison.)`];
  const rows: { system: string; tokPerSec: number; ttftS: number }[] = [];
  const add = (system: string, s: ScenarioResult | undefined) => {
    if (s) rows.push({ system, tokPerSec: s.metrics.outputThroughput, ttftS: s.metrics.ttftMs.mean / 1000 });
  };
  add(`qwen3-serve, defaults (${model.batching.name})`, ours);
  for (const { run } of model.prefillSettings) add(`qwen3-serve, ${run.name}`, level(run));
  add('qwen3-serve --max-seqs 1 (no batching)', level(model.noBatching));
  const hf = model.transformers?.estimates.find((e) => e.concurrency === peer.concurrency);
  if (hf) rows.push({ system: 'transformers.js one at a time (worked out)', tokPerSec: hf.outputThroughput, ttftS: hf.meanTtftMs / 1000 });
  rows.push({ system: `llama.cpp server, ${peer.llamaCpp.quantization}, 8 slots (published)`, tokPerSec: peer.llamaCpp.outputThroughput, ttftS: peer.llamaCpp.meanTtftSeconds });
  const lines = [`llama.cpp's workload: ${peer.concurrency} concurrent requests of ${peer.inputTokens} prompt tokens and ${peer.outputTokens} output tokens:`, ''];
  lines.push(
    markdownTable(
      ['system', 'generated tok/s end to end', 'mean TTFT s', 'tok/s x llama.cpp', 'TTFT x llama.cpp'],
      rows.map((r) => [r.system, r.tokPerSec.toFixed(2), r.ttftS.toFixed(1), ratio(r.tokPerSec / peer.llamaCpp.outputThroughput), ratio(r.ttftS / peer.llamaCpp.meanTtftSeconds)]),
    ),
  );
  const candidates = rows.filter((r) => r.system.startsWith('qwen3-serve, '));
  // The setting that wins: the best trade (tok/s over TTFT) among those meeting both goals, else overall.
  const meets = (r: (typeof rows)[number]) => r.tokPerSec / peer.llamaCpp.outputThroughput >= peer.goals.throughputRatio && r.ttftS / peer.llamaCpp.meanTtftSeconds <= peer.goals.ttftRatio;
  const ranked = [...candidates].sort((a, b) => b.tokPerSec / b.ttftS - a.tokPerSec / a.ttftS);
  const best = ranked.find(meets) ?? ranked[0];
  lines.push(
    '',
    `Goals against llama.cpp (>= ${peer.goals.throughputRatio}x its throughput, <= ${peer.goals.ttftRatio}x its mean TTFT), best setting "${best.system.replace('qwen3-serve, ', '')}": ` +
      `throughput ${ratio(best.tokPerSec / peer.llamaCpp.outputThroughput)} ${best.tokPerSec / peer.llamaCpp.outputThroughput >= peer.goals.throughputRatio ? 'MET' : 'NOT MET'}, ` +
      `TTFT ${ratio(best.ttftS / peer.llamaCpp.meanTtftSeconds)} ${best.ttftS / peer.llamaCpp.meanTtftSeconds <= peer.goals.ttftRatio ? 'MET' : 'NOT MET'}.`,
  );
  const single = findLevel(model.batching, 1);
  if (single) {
    const perStream = single.metrics.outputThroughput / Math.max(1, single.shape.kind === 'concurrency' ? single.shape.concurrency : 1);
    lines.push(
      `One request alone (c=1): ${perStream.toFixed(2)} tok/s end to end, TTFT ${seconds(single.metrics.ttftMs.mean)} s (llama.cpp: ${peer.llamaCpp.single.outputThroughput} tok/s, ${peer.llamaCpp.single.ttftSeconds} s).`,
    );
  }
  return lines;
}

/**
 * Steady-state decode scaling from the client's side: the median inter-token gap is a step
 * where every stream decodes (prefill steps are the long tail), so streams / median ITL is the
 * decode rate with that many streams.
 */
function formatScaling(model: ModelServeResult): string[] {
  const one = findLevel(model.batching, 1);
  const eight = findLevel(model.batching, 8);
  if (!one || !eight || one.metrics.itlMs.median === 0 || eight.metrics.itlMs.median === 0) return [];
  const single = 1000 / one.metrics.itlMs.median;
  const batch = (8 * 1000) / eight.metrics.itlMs.median;
  return [
    `Decode scaling (streams / median ITL): 1 stream ${single.toFixed(2)} tok/s, 8 streams ${batch.toFixed(2)} tok/s = ${ratio(batch / single)} (goal >= 3x: ${batch / single >= 3 ? 'MET' : 'NOT MET'}).`,
  ];
}
