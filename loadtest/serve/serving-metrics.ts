/**
 * What one benchmark request measured, client side. Times are ms from performance.now() in the
 * benchmark process; a failed request keeps what it saw before failing.
 */
export interface RequestResult {
  ok: boolean;
  /** Prompt tokens as the server counted them (usage), else as sent. */
  promptTokens: number;
  /** Generated tokens as the server counted them (usage); 0 when it failed before the usage chunk. */
  outputTokens: number;
  /** When the request was sent. */
  startMs: number;
  /** Time to first token: send -> first chunk carrying text. */
  ttftMs: number;
  /** Gaps between consecutive text chunks (a chunk may carry several tokens when one decodes to no text). */
  itlMs: number[];
  /** Send -> the last text chunk (vLLM's request latency). */
  e2eMs: number;
  /** HTTP status of a refused request (429, 503 ...), undefined when it got a 200. */
  status?: number;
  error?: string;
}

/** vLLM's `--goodput` SLOs, ms: a request counts as good when it meets every one given. */
export interface ServiceLevelObjectives {
  ttftMs?: number;
  tpotMs?: number;
  e2eMs?: number;
}

/** mean, median, standard deviation and chosen percentiles of one latency, ms. */
export interface Distribution {
  mean: number;
  median: number;
  std: number;
  p90: number;
  p99: number;
  max: number;
}

/**
 * A run's figures with the definitions of vLLM's `vllm bench serve` (benchmarks/serve.py,
 * calculate_metrics): throughputs over the run's duration (first send to last completion), TPOT
 * per request as (e2e - ttft) / (output_tokens - 1) over requests with more than one token, ITL
 * pooled over every gap of every request, goodput as the rate of requests meeting all SLOs.
 */
export interface ServingMetrics {
  completed: number;
  failed: number;
  /** Failed requests by HTTP status ('network' when none came back). */
  failures: Record<string, number>;
  durationSeconds: number;
  totalInputTokens: number;
  totalOutputTokens: number;
  requestThroughput: number;
  /** Requests per second that met every SLO (null without SLOs). */
  requestGoodput: number | null;
  outputThroughput: number;
  totalTokenThroughput: number;
  ttftMs: Distribution;
  tpotMs: Distribution;
  itlMs: Distribution;
  e2eMs: Distribution;
}

export function summarizeRequests(results: RequestResult[], durationMs: number, slo: ServiceLevelObjectives = {}): ServingMetrics {
  const done = results.filter((r) => r.ok);
  const failures: Record<string, number> = {};
  for (const r of results) {
    if (r.ok) continue;
    const key = r.status !== undefined ? String(r.status) : 'network';
    failures[key] = (failures[key] ?? 0) + 1;
  }
  const seconds = durationMs / 1000;
  const totalInputTokens = sum(done.map((r) => r.promptTokens));
  const totalOutputTokens = sum(done.map((r) => r.outputTokens));
  const tpots = done.filter((r) => r.outputTokens > 1).map(timePerOutputToken);
  const hasSlo = slo.ttftMs !== undefined || slo.tpotMs !== undefined || slo.e2eMs !== undefined;
  return {
    completed: done.length,
    failed: results.length - done.length,
    failures,
    durationSeconds: seconds,
    totalInputTokens,
    totalOutputTokens,
    requestThroughput: done.length / seconds,
    requestGoodput: hasSlo ? done.filter((r) => meetsObjectives(r, slo)).length / seconds : null,
    outputThroughput: totalOutputTokens / seconds,
    totalTokenThroughput: (totalInputTokens + totalOutputTokens) / seconds,
    ttftMs: distribution(done.map((r) => r.ttftMs)),
    tpotMs: distribution(tpots),
    itlMs: distribution(done.flatMap((r) => r.itlMs)),
    e2eMs: distribution(done.map((r) => r.e2eMs)),
  };
}

/** vLLM's TPOT: decode time per token after the first; 0 for a one-token output. */
export function timePerOutputToken(result: RequestResult): number {
  return result.outputTokens > 1 ? (result.e2eMs - result.ttftMs) / (result.outputTokens - 1) : 0;
}

function meetsObjectives(result: RequestResult, slo: ServiceLevelObjectives): boolean {
  if (slo.ttftMs !== undefined && result.ttftMs > slo.ttftMs) return false;
  if (slo.tpotMs !== undefined && timePerOutputToken(result) > slo.tpotMs) return false;
  if (slo.e2eMs !== undefined && result.e2eMs > slo.e2eMs) return false;
  return true;
}

/** Zeros for an empty list (vLLM reports 0 too), so a run where all failed still prints. */
export function distribution(values: number[]): Distribution {
  if (values.length === 0) return { mean: 0, median: 0, std: 0, p90: 0, p99: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sum(sorted) / sorted.length;
  const variance = sum(sorted.map((v) => (v - mean) ** 2)) / sorted.length;
  return {
    mean,
    median: percentile(sorted, 50),
    std: Math.sqrt(variance),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1],
  };
}

/** numpy.percentile's default (linear interpolation between closest ranks) over sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.min(low + 1, sorted.length - 1);
  return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
