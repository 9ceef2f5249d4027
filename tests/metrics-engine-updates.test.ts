import { describe, expect, it } from 'vitest';
import type { FinishReason, RequestTimings } from '../src/engine/generation.js';
import type { StepReport } from '../src/engine/step-report.js';
import { ServerMetrics, type ObservableEngine } from '../exporter/index.js';
import type { RequestEnd } from '../exporter/request-end.js';
import { build125Buckets } from '../exporter/vllm-buckets.js';
import { histogramOf, parseExposition, sampleValue, type ExposedSample } from './helpers/prometheus.js';

const MODEL = { model_name: 'qwen3-test' };
const VLLM = { ...MODEL, engine: '0' };

/** A step report with every field at a neutral value, overridden where a test cares. */
function stepReport(overrides: Partial<StepReport> = {}, scheduler: Partial<StepReport['scheduler']> = {}): StepReport {
  return {
    startedAt: 0,
    durationMs: 10,
    forwardMs: 8,
    decodeBatchSize: 0,
    prefillChunks: 0,
    prefillTokens: 0,
    decodeTokens: 0,
    generatedTokens: 0,
    interTokenLatenciesMs: [],
    timesToFirstTokenMs: [],
    preemptions: 0,
    prefixCacheQueries: 0,
    prefixCacheHits: 0,
    kvBytesInUse: 0,
    kvBytesBudget: 0,
    ...overrides,
    scheduler: {
      numRunning: 0,
      numPrefilling: 0,
      numWaiting: 0,
      numPreempted: 0,
      maxSeqs: 4,
      kvTokensInUse: 0,
      kvTokensReserved: 0,
      kvTokenBudget: 1000,
      numCachedPrefixes: 0,
      kvTokensCached: 0,
      prefixQueryTokensTotal: 0,
      prefixHitTokensTotal: 0,
      stepsTotal: 0,
      preemptionsTotal: 0,
      priorityPreemptionsTotal: 0,
      scheduledTokensTotal: 0,
      finishedTotal: { stop: 0, length: 0, abort: 0, error: 0 },
      lastStep: { numDecodeTokens: 0, numPrefillTokens: 0, numPrefillChunks: 0, numScheduledTokens: 0 },
      ...scheduler,
    },
  };
}

/** An engine that hands its listeners whatever the test feeds: EngineClient's contract, no worker. */
class FakeEngine implements ObservableEngine {
  readonly info = { maxLen: 512, weightBytes: 123_456_789, kvReservedBytes: 4_194_304 };
  private stepListeners: ((report: StepReport) => void)[] = [];
  private endListeners: ((event: RequestEnd) => void)[] = [];
  onStep(listener: (report: StepReport) => void): void {
    this.stepListeners.push(listener);
  }
  onRequestEnd(listener: (event: RequestEnd) => void): void {
    this.endListeners.push(listener);
  }
  step(report: StepReport): void {
    for (const l of this.stepListeners) l(report);
  }
  end(event: RequestEnd): void {
    for (const l of this.endListeners) l(event);
  }
}

let requestCount = 0;
function done(timings: RequestTimings, promptTokens: number, completionTokens: number, finishReasons: FinishReason[]): RequestEnd {
  return { type: 'done', requestId: `r${requestCount++}`, usage: { promptTokens, completionTokens, cachedPromptTokens: 0 }, timings, finishReasons };
}

async function scrape(metrics: ServerMetrics): Promise<ExposedSample[]> {
  return parseExposition(await metrics.render());
}

function withEngine(): { metrics: ServerMetrics; engine: FakeEngine } {
  const metrics = new ServerMetrics({ modelName: MODEL.model_name, gpu: false });
  const engine = new FakeEngine();
  metrics.attachEngine(engine);
  return { metrics, engine };
}

/** Cumulative counts per `le` for the given upper bounds, as Prometheus exposes them. */
function cumulative(buckets: Map<string, number>, les: string[]): number[] {
  return les.map((le) => {
    const count = buckets.get(le);
    if (count === undefined) throw new Error(`no bucket le=${le}; have ${[...buckets.keys()].join(',')}`);
    return count;
  });
}

describe('ServerMetrics: vLLM metrics from step reports and request ends', () => {
  it('exposes every series at zero before any traffic, under vLLM names, labels and buckets', async () => {
    const { metrics } = withEngine();
    const samples = await scrape(metrics);
    for (const gauge of ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc']) {
      expect(sampleValue(samples, gauge, VLLM)).toBe(0);
    }
    for (const counter of ['vllm:prompt_tokens_total', 'vllm:generation_tokens_total', 'vllm:num_preemptions_total', 'vllm:prefix_cache_queries_total', 'vllm:prefix_cache_hits_total']) {
      expect(sampleValue(samples, counter, VLLM)).toBe(0);
    }
    for (const reason of ['stop', 'length', 'abort', 'error']) {
      expect(sampleValue(samples, 'vllm:request_success_total', { ...VLLM, finished_reason: reason })).toBe(0);
    }
    const ttft = histogramOf(samples, 'vllm:time_to_first_token_seconds', VLLM);
    expect([...ttft.buckets.keys()]).toEqual(
      ['0.001', '0.005', '0.01', '0.02', '0.04', '0.06', '0.08', '0.1', '0.25', '0.5', '0.75', '1', '2.5', '5', '7.5', '10', '20', '40', '80', '160', '640', '2560', '+Inf'],
    );
    expect([...histogramOf(samples, 'vllm:inter_token_latency_seconds', VLLM).buckets.keys()]).toEqual(
      ['0.01', '0.025', '0.05', '0.075', '0.1', '0.15', '0.2', '0.3', '0.4', '0.5', '0.75', '1', '2.5', '5', '7.5', '10', '20', '40', '80', '+Inf'],
    );
    expect([...histogramOf(samples, 'vllm:e2e_request_latency_seconds', VLLM).buckets.keys()]).toEqual(
      ['0.3', '0.5', '0.8', '1', '1.5', '2', '2.5', '5', '10', '15', '20', '30', '40', '50', '60', '120', '240', '480', '960', '1920', '7680', '+Inf'],
    );
    expect([...histogramOf(samples, 'vllm:iteration_tokens_total', VLLM).buckets.keys()]).toEqual(
      ['1', '8', '16', '32', '64', '128', '256', '512', '1024', '2048', '4096', '8192', '16384', '+Inf'],
    );
    // Token-count buckets are vLLM's build_1_2_5_buckets(max_model_len): here maxLen 512.
    expect([...histogramOf(samples, 'vllm:request_prompt_tokens', VLLM).buckets.keys()]).toEqual(['1', '2', '5', '10', '20', '50', '100', '200', '500', '+Inf']);
    expect(histogramOf(samples, 'vllm:request_generation_tokens', VLLM).count).toBe(0);
    metrics.close();
  });

  it('vLLM 1-2-5 buckets stop at the maximum, inclusive', () => {
    expect(build125Buckets(100)).toEqual([1, 2, 5, 10, 20, 50, 100]);
    expect(build125Buckets(8192)).toEqual([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]);
    expect(build125Buckets(1)).toEqual([1]);
  });

  it('step reports set the scheduler gauges and count tokens, preemptions, iterations and inter-token gaps', async () => {
    const { metrics, engine } = withEngine();
    engine.step(stepReport({ prefillChunks: 1, prefillTokens: 64, durationMs: 40, forwardMs: 35, kvBytesInUse: 6400, kvBytesBudget: 100_000 }, { numRunning: 1, numWaiting: 2, kvTokensInUse: 64 }));
    engine.step(
      stepReport(
        { decodeBatchSize: 3, decodeTokens: 3, generatedTokens: 3, interTokenLatenciesMs: [5, 120, 30_000], preemptions: 2, durationMs: 12, forwardMs: 11.5, kvBytesInUse: 6700, kvBytesBudget: 100_000 },
        { numRunning: 3, numWaiting: 1, kvTokensInUse: 250, kvTokenBudget: 1000 },
      ),
    );
    // An idle step schedules nothing: no iteration, no batch, but gauges still follow it.
    engine.step(stepReport({ durationMs: 0.1, forwardMs: 0 }, { numRunning: 0, numWaiting: 0, kvTokensInUse: 0 }));
    engine.step(stepReport({ decodeBatchSize: 1, decodeTokens: 1, generatedTokens: 1, prefillChunks: 1, prefillTokens: 7, durationMs: 2000, forwardMs: 1500 }, { numRunning: 2, numWaiting: 5, kvTokensInUse: 500 }));

    const samples = await scrape(metrics);
    expect(sampleValue(samples, 'vllm:num_requests_running', VLLM)).toBe(2);
    expect(sampleValue(samples, 'vllm:num_requests_waiting', VLLM)).toBe(5);
    expect(sampleValue(samples, 'vllm:kv_cache_usage_perc', VLLM)).toBe(0.5);
    expect(sampleValue(samples, 'vllm:prompt_tokens_total', VLLM)).toBe(64 + 7);
    expect(sampleValue(samples, 'vllm:generation_tokens_total', VLLM)).toBe(3 + 1);
    expect(sampleValue(samples, 'vllm:num_preemptions_total', VLLM)).toBe(2);

    // Iterations of 64, 3 and 8 tokens.
    const iterations = histogramOf(samples, 'vllm:iteration_tokens_total', VLLM);
    expect(iterations.count).toBe(3);
    expect(iterations.sum).toBe(75);
    expect(cumulative(iterations.buckets, ['1', '8', '16', '32', '64', '128', '+Inf'])).toEqual([0, 2, 2, 2, 3, 3, 3]);

    // Gaps of 5 ms, 120 ms and 30 s.
    const itl = histogramOf(samples, 'vllm:inter_token_latency_seconds', VLLM);
    expect(itl.count).toBe(3);
    expect(itl.sum).toBeCloseTo(30.125, 9);
    expect(cumulative(itl.buckets, ['0.01', '0.1', '0.15', '20', '40', '+Inf'])).toEqual([1, 1, 2, 2, 3, 3]);

    // Our step metrics: batches of 1, 3 and 2 sequences; steps of 40 ms, 12 ms and 2 s.
    const batch = histogramOf(samples, 'qwen3_serve_batch_size', MODEL);
    expect(batch.count).toBe(3);
    expect(batch.sum).toBe(6);
    expect(cumulative(batch.buckets, ['1', '2', '4', '+Inf'])).toEqual([1, 2, 3, 3]);
    const duration = histogramOf(samples, 'qwen3_serve_step_duration_seconds', MODEL);
    expect(duration.sum).toBeCloseTo(2.052, 9);
    expect(cumulative(duration.buckets, ['0.01', '0.025', '0.05', '1', '2.5'])).toEqual([0, 1, 2, 2, 3]);
    const overhead = histogramOf(samples, 'qwen3_serve_engine_overhead_seconds', MODEL);
    expect(overhead.sum).toBeCloseTo(0.005 + 0.0005 + 0.5, 9);
    expect(cumulative(overhead.buckets, ['0.0005', '0.005', '0.5', '1'])).toEqual([1, 2, 3, 3]);

    // KV memory follows the last step that reported it (the idle step reported 0 in use).
    expect(sampleValue(samples, 'qwen3_serve_kv_cache_used_bytes', MODEL)).toBe(0);
    expect(sampleValue(samples, 'qwen3_serve_kv_cache_allocated_bytes', MODEL)).toBe(4_194_304);
    expect(sampleValue(samples, 'qwen3_serve_model_weight_bytes', MODEL)).toBe(123_456_789);
    metrics.close();
  });

  it("step reports count prefix cache queries and hits in tokens, as vLLM's counters do", async () => {
    const { metrics, engine } = withEngine();
    // A first turn finds nothing; its follow-up reuses 47 of its 68 prompt tokens.
    engine.step(stepReport({ prefillChunks: 1, prefillTokens: 40, prefixCacheQueries: 40, prefixCacheHits: 0 }));
    engine.step(stepReport({ prefillChunks: 1, prefillTokens: 21, prefixCacheQueries: 68, prefixCacheHits: 47 }));
    engine.step(stepReport());
    const samples = await scrape(metrics);
    expect(sampleValue(samples, 'vllm:prefix_cache_queries_total', VLLM)).toBe(108);
    expect(sampleValue(samples, 'vllm:prefix_cache_hits_total', VLLM)).toBe(47);
    // Only computed prompt tokens count as prompt tokens processed.
    expect(sampleValue(samples, 'vllm:prompt_tokens_total', VLLM)).toBe(61);
    metrics.close();
  });

  it('request ends count outcomes and observe the latency breakdown and token counts', async () => {
    const { metrics, engine } = withEngine();
    // Queued 0.5 s, prefill 0.5 s (TTFT 1 s, on a bucket bound), decode 5 s: e2e 6 s.
    engine.end(done({ arrival: 1000, scheduled: 1500, firstToken: 2000, finished: 7000 }, 40, 100, ['stop']));
    // n=2 with one choice cut by length: the request counts as `length`.
    engine.end(done({ arrival: 0, scheduled: 100, firstToken: 250, finished: 400 }, 3, 2, ['stop', 'length']));
    // Aborted while still queued: no queue, prefill or decode time, only its end-to-end time.
    engine.end(done({ arrival: 0, scheduled: null, firstToken: null, finished: 900 }, 600, 0, ['abort']));
    engine.end({ type: 'error', requestId: 'failed', error: { type: 'server_error', message: 'boom', param: null, code: 'engine_error' } });
    // Time to first token comes from the steps that produced those first tokens, not the ends.
    engine.step(stepReport({ timesToFirstTokenMs: [1000] }));
    engine.step(stepReport({ timesToFirstTokenMs: [250] }));

    const samples = await scrape(metrics);
    const success = (reason: string) => sampleValue(samples, 'vllm:request_success_total', { ...VLLM, finished_reason: reason });
    expect([success('stop'), success('length'), success('abort'), success('error')]).toEqual([1, 1, 1, 1]);

    const ttft = histogramOf(samples, 'vllm:time_to_first_token_seconds', VLLM);
    expect(ttft.count).toBe(2);
    expect(ttft.sum).toBeCloseTo(1.25, 9);
    expect(cumulative(ttft.buckets, ['0.1', '0.25', '0.75', '1', '+Inf'])).toEqual([0, 1, 1, 2, 2]);

    const e2e = histogramOf(samples, 'vllm:e2e_request_latency_seconds', VLLM);
    expect(e2e.count).toBe(3);
    expect(e2e.sum).toBeCloseTo(6 + 0.4 + 0.9, 9);
    expect(cumulative(e2e.buckets, ['0.3', '0.5', '1', '5', '10'])).toEqual([0, 1, 2, 2, 3]);

    const queue = histogramOf(samples, 'vllm:request_queue_time_seconds', VLLM);
    expect([queue.count, queue.sum]).toEqual([2, 0.6]);
    const prefill = histogramOf(samples, 'vllm:request_prefill_time_seconds', VLLM);
    expect(prefill.count).toBe(2);
    expect(prefill.sum).toBeCloseTo(0.65, 9);
    const decode = histogramOf(samples, 'vllm:request_decode_time_seconds', VLLM);
    expect(decode.count).toBe(2);
    expect(decode.sum).toBeCloseTo(5.15, 9);
    expect(cumulative(decode.buckets, ['0.3', '5', '10'])).toEqual([1, 2, 2]);
    const inference = histogramOf(samples, 'vllm:request_inference_time_seconds', VLLM);
    expect(inference.sum).toBeCloseTo(5.5 + 0.3, 9);

    const prompt = histogramOf(samples, 'vllm:request_prompt_tokens', VLLM);
    expect([prompt.count, prompt.sum]).toEqual([3, 643]);
    expect(cumulative(prompt.buckets, ['2', '5', '50', '500', '+Inf'])).toEqual([0, 1, 2, 2, 3]);
    const generation = histogramOf(samples, 'vllm:request_generation_tokens', VLLM);
    expect([generation.count, generation.sum]).toEqual([3, 102]);
    expect(cumulative(generation.buckets, ['1', '2', '100'])).toEqual([1, 2, 3]);
    metrics.close();
  });

  it('HTTP exchanges and answered errors are counted by route pattern, method, status and error type', async () => {
    const metrics = new ServerMetrics({ modelName: MODEL.model_name, gpu: false });
    metrics.httpRequest({ route: '/v1/chat/completions', method: 'post', status: 200, durationSeconds: 0.3 });
    metrics.httpRequest({ route: '/v1/chat/completions', method: 'POST', status: 200, durationSeconds: 2 });
    metrics.httpRequest({ route: '/v1/chat/completions', method: 'POST', status: 429, durationSeconds: 0.001 });
    metrics.errorAnswered({ type: 'rate_limit_error', code: 'queue_full' });
    metrics.errorAnswered({ type: 'invalid_request_error', code: null });

    const samples = await scrape(metrics);
    const requests = (status: string) =>
      sampleValue(samples, 'qwen3_serve_http_requests_total', { ...MODEL, route: '/v1/chat/completions', method: 'POST', status });
    expect([requests('200'), requests('429')]).toEqual([2, 1]);
    const duration = histogramOf(samples, 'qwen3_serve_http_request_duration_seconds', { ...MODEL, route: '/v1/chat/completions', method: 'POST' });
    expect(duration.count).toBe(3);
    expect(cumulative(duration.buckets, ['0.005', '0.5', '2.5'])).toEqual([1, 2, 3]);
    expect(sampleValue(samples, 'qwen3_serve_errors_total', { ...MODEL, type: 'rate_limit_error', code: 'queue_full' })).toBe(1);
    expect(sampleValue(samples, 'qwen3_serve_errors_total', { ...MODEL, type: 'invalid_request_error', code: '' })).toBe(1);
    // Types never answered still have their series, at 0.
    expect(sampleValue(samples, 'qwen3_serve_errors_total', { ...MODEL, type: 'server_error', code: '' })).toBe(0);
    // Without an engine there are no engine series yet (the vLLM buckets need its max length).
    expect(samples.some((s) => s.name.startsWith('vllm:'))).toBe(false);
    metrics.close();
  });

  it('two servers in one process keep separate registries', async () => {
    const a = withEngine();
    const b = withEngine();
    a.engine.step(stepReport({ generatedTokens: 5, decodeBatchSize: 5, decodeTokens: 5 }));
    expect(sampleValue(await scrape(a.metrics), 'vllm:generation_tokens_total', VLLM)).toBe(5);
    expect(sampleValue(await scrape(b.metrics), 'vllm:generation_tokens_total', VLLM)).toBe(0);
    a.metrics.close();
    b.metrics.close();
  });
});
