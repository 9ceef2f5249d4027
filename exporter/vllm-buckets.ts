/**
 * vLLM's histogram buckets, copied as numbers from vllm/v1/metrics/loggers.py (PrometheusStatLogger)
 * so that dashboards and SLO rules written for vLLM read our histograms the same way.
 */

/** vllm:time_to_first_token_seconds */
export const TIME_TO_FIRST_TOKEN_BUCKETS: readonly number[] = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
];

/** vllm:inter_token_latency_seconds */
export const INTER_TOKEN_LATENCY_BUCKETS: readonly number[] = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
];

/** e2e, queue, inference, prefill and decode time per request (vLLM's `request_latency_buckets`). */
export const REQUEST_LATENCY_BUCKETS: readonly number[] = [
  0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0,
];

/** vllm:iteration_tokens_total (a histogram despite its name). */
export const ITERATION_TOKENS_BUCKETS: readonly number[] = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];

/**
 * vLLM's `build_1_2_5_buckets(max_model_len)`: 1, 2, 5, 10, 20, 50, ... up to and including
 * `maxValue`, for the per-request token-count histograms.
 */
export function build125Buckets(maxValue: number): number[] {
  const buckets: number[] = [];
  for (let power = 1; ; power *= 10) {
    for (const mantissa of [1, 2, 5]) {
      const value = mantissa * power;
      if (value > maxValue) return buckets;
      buckets.push(value);
    }
  }
}
