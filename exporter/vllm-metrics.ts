import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { FinishReason } from '../src/engine/generation.js';
import type { StepReport } from '../src/engine/step-report.js';
import type { RequestEnd } from './request-end.js';
import {
  build125Buckets,
  INTER_TOKEN_LATENCY_BUCKETS,
  ITERATION_TOKENS_BUCKETS,
  REQUEST_LATENCY_BUCKETS,
  TIME_TO_FIRST_TOKEN_BUCKETS,
} from './vllm-buckets.js';

/**
 * vLLM's label names: every vLLM series carries the served model name and the engine index. We
 * run one engine per server, so `engine` is always "0", as on a single-engine vLLM.
 */
const LABEL_NAMES = ['model_name', 'engine'] as const;
type VllmLabels = Record<(typeof LABEL_NAMES)[number], string>;

/** Every finish reason gets its series at 0 from the start, as vLLM does, so rate() has a baseline. */
const FINISH_REASONS: readonly FinishReason[] = ['stop', 'length', 'abort', 'error'];

export interface VllmMetricsOptions {
  modelName: string;
  /** The longest sequence the engine runs: the top of the token-count histograms' 1-2-5 buckets. */
  maxModelLen: number;
}

/**
 * The metrics vLLM exports, under vLLM's names, types, help texts, labels and buckets, so that
 * vLLM dashboards, KEDA triggers on `vllm:num_requests_waiting` and the inference gateway's
 * endpoint picker read this server unchanged. Fed from the engine's step reports and request
 * ends on the main thread; nothing here runs inside the engine loop.
 */
export class VllmMetrics {
  private readonly labels: VllmLabels;
  private readonly running: Gauge<string>;
  private readonly waiting: Gauge<string>;
  private readonly kvCacheUsage: Gauge<string>;
  private readonly promptTokens: Counter<string>;
  private readonly generationTokens: Counter<string>;
  private readonly preemptions: Counter<string>;
  private readonly prefixCacheQueries: Counter<string>;
  private readonly prefixCacheHits: Counter<string>;
  private readonly requestSuccess: Counter<string>;
  private readonly iterationTokens: Histogram<string>;
  private readonly timeToFirstToken: Histogram<string>;
  private readonly interTokenLatency: Histogram<string>;
  private readonly e2eLatency: Histogram<string>;
  private readonly queueTime: Histogram<string>;
  private readonly inferenceTime: Histogram<string>;
  private readonly prefillTime: Histogram<string>;
  private readonly decodeTime: Histogram<string>;
  private readonly requestPromptTokens: Histogram<string>;
  private readonly requestGenerationTokens: Histogram<string>;

  constructor(registry: Registry, options: VllmMetricsOptions) {
    this.labels = { model_name: options.modelName, engine: '0' };
    const registers = [registry];
    const labelNames = LABEL_NAMES;
    const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames, registers });
    const counter = (name: string, help: string) => new Counter({ name, help, labelNames, registers });
    const histogram = (name: string, help: string, buckets: readonly number[]) =>
      new Histogram({ name, help, labelNames, buckets: [...buckets], registers });
    const tokenBuckets = build125Buckets(options.maxModelLen);

    this.running = gauge('vllm:num_requests_running', 'Number of requests in model execution batches.');
    this.waiting = gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.');
    this.kvCacheUsage = gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.');
    this.promptTokens = counter('vllm:prompt_tokens_total', 'Number of prefill tokens processed.');
    this.generationTokens = counter('vllm:generation_tokens_total', 'Number of generation tokens processed.');
    this.preemptions = counter('vllm:num_preemptions_total', 'Cumulative number of preemption from the engine.');
    // vLLM declares these as vllm:prefix_cache_queries / _hits; its client library exposes
    // counters with the _total suffix, which prom-client takes as part of the name.
    this.prefixCacheQueries = counter('vllm:prefix_cache_queries_total', 'Prefix cache queries, in terms of number of queried tokens.');
    this.prefixCacheHits = counter('vllm:prefix_cache_hits_total', 'Prefix cache hits, in terms of number of cached tokens.');
    this.requestSuccess = new Counter({
      name: 'vllm:request_success_total',
      help: 'Count of successfully processed requests.',
      labelNames: [...LABEL_NAMES, 'finished_reason'],
      registers,
    });
    this.iterationTokens = histogram('vllm:iteration_tokens_total', 'Histogram of number of tokens per engine_step.', ITERATION_TOKENS_BUCKETS);
    this.timeToFirstToken = histogram('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', TIME_TO_FIRST_TOKEN_BUCKETS);
    this.interTokenLatency = histogram('vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', INTER_TOKEN_LATENCY_BUCKETS);
    this.e2eLatency = histogram('vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', REQUEST_LATENCY_BUCKETS);
    this.queueTime = histogram('vllm:request_queue_time_seconds', 'Histogram of time spent in WAITING phase for request.', REQUEST_LATENCY_BUCKETS);
    this.inferenceTime = histogram('vllm:request_inference_time_seconds', 'Histogram of time spent in RUNNING phase for request.', REQUEST_LATENCY_BUCKETS);
    this.prefillTime = histogram('vllm:request_prefill_time_seconds', 'Histogram of time spent in PREFILL phase for request.', REQUEST_LATENCY_BUCKETS);
    this.decodeTime = histogram('vllm:request_decode_time_seconds', 'Histogram of time spent in DECODE phase for request.', REQUEST_LATENCY_BUCKETS);
    this.requestPromptTokens = histogram('vllm:request_prompt_tokens', 'Number of prefill tokens processed.', tokenBuckets);
    this.requestGenerationTokens = histogram('vllm:request_generation_tokens', 'Number of generation tokens processed.', tokenBuckets);

    // Every series exists from the first scrape (at 0), so queries have data before traffic.
    for (const g of [this.running, this.waiting, this.kvCacheUsage]) g.set(this.labels, 0);
    for (const c of [this.promptTokens, this.generationTokens, this.preemptions, this.prefixCacheQueries, this.prefixCacheHits]) c.inc(this.labels, 0);
    for (const reason of FINISH_REASONS) this.requestSuccess.inc({ ...this.labels, finished_reason: reason }, 0);
    for (const h of [
      this.iterationTokens,
      this.timeToFirstToken,
      this.interTokenLatency,
      this.e2eLatency,
      this.queueTime,
      this.inferenceTime,
      this.prefillTime,
      this.decodeTime,
      this.requestPromptTokens,
      this.requestGenerationTokens,
    ]) {
      h.zero(this.labels);
    }
  }

  /** One engine step: scheduler gauges, token counters, iteration size, inter-token gaps. */
  observeStep(report: StepReport): void {
    const stats = report.scheduler;
    this.running.set(this.labels, stats.numRunning);
    this.waiting.set(this.labels, stats.numWaiting);
    // vLLM's usage is the share of KV blocks holding computed tokens; ours is the same share in
    // tokens of the KV budget the scheduler admits against.
    this.kvCacheUsage.set(this.labels, stats.kvTokenBudget > 0 ? stats.kvTokensInUse / stats.kvTokenBudget : 0);
    // Prompt tokens are counted as they are computed (recomputation after a preemption included,
    // prefixes reused from the prefix cache not), so tokens/s panels follow the engine's work.
    this.promptTokens.inc(this.labels, report.prefillTokens);
    this.generationTokens.inc(this.labels, report.generatedTokens);
    this.preemptions.inc(this.labels, report.preemptions);
    // As vLLM counts them: each admitted request's whole sequence queried, the reused part hit.
    this.prefixCacheQueries.inc(this.labels, report.prefixCacheQueries);
    this.prefixCacheHits.inc(this.labels, report.prefixCacheHits);
    const iterationTokens = report.prefillTokens + report.generatedTokens;
    if (iterationTokens > 0) this.iterationTokens.observe(this.labels, iterationTokens);
    for (const gapMs of report.interTokenLatenciesMs) this.interTokenLatency.observe(this.labels, gapMs / 1000);
    for (const ttftMs of report.timesToFirstTokenMs) this.timeToFirstToken.observe(this.labels, ttftMs / 1000);
  }

  /**
   * The end of one request: its outcome and its latency breakdown. A request is one observation
   * whatever its `n` (vLLM counts each of the n sequences). Its time to first token was observed
   * by observeStep, in the step that produced the token.
   */
  observeRequestEnd(event: RequestEnd): void {
    if (event.type === 'error') {
      this.requestSuccess.inc({ ...this.labels, finished_reason: 'error' });
      return;
    }
    this.requestSuccess.inc({ ...this.labels, finished_reason: requestFinishReason(event.finishReasons) });
    const { arrival, scheduled, firstToken, finished } = event.timings;
    const seconds = (from: number, to: number) => Math.max(0, to - from) / 1000;
    this.e2eLatency.observe(this.labels, seconds(arrival, finished));
    if (scheduled !== null) {
      this.queueTime.observe(this.labels, seconds(arrival, scheduled));
      this.inferenceTime.observe(this.labels, seconds(scheduled, finished));
    }
    if (firstToken !== null) {
      this.decodeTime.observe(this.labels, seconds(firstToken, finished));
      if (scheduled !== null) this.prefillTime.observe(this.labels, seconds(scheduled, firstToken));
    }
    this.requestPromptTokens.observe(this.labels, event.usage.promptTokens);
    this.requestGenerationTokens.observe(this.labels, event.usage.completionTokens);
  }
}

/**
 * One finish reason for a whole request (its choices may differ): a failed choice makes it
 * `error`, else an aborted one `abort`, else a truncated one `length`; otherwise `stop`.
 */
export function requestFinishReason(reasons: readonly FinishReason[]): FinishReason {
  for (const reason of ['error', 'abort', 'length'] as const) if (reasons.includes(reason)) return reason;
  return 'stop';
}
