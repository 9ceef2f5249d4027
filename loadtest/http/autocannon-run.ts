import autocannon from 'autocannon';
import { distribution, type Distribution } from '../serve/serving-metrics.js';

/** One bounded autocannon run against 127.0.0.1, with what the scenarios check per response. */
export interface CannonOptions {
  url: string;
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  connections: number;
  /** Total requests: the run stops after this many responses... */
  amount: number;
  /** ...or after this long, whichever comes first. */
  maxSeconds: number;
}

export interface CannonResult {
  requests: number;
  durationSeconds: number;
  requestsPerSecond: number;
  /** Responses by status code. */
  statuses: Record<string, number>;
  /** Latency of each status's responses, ms. */
  latencyByStatus: Record<string, Distribution>;
  /** Retry-After values (seconds) of the 429 responses; `missing` counts 429s without one. */
  retryAfter: { values: number[]; missing: number };
  /** Socket errors and requests that got no response in time (autocannon's errors and timeouts). */
  errors: number;
  timeouts: number;
}

/**
 * autocannon with per-status latency: its own histogram mixes the fast 429s with the slow
 * admitted requests, so each response's time is recorded from its 'response' event under its
 * status, and the request's onResponse reads the Retry-After header. The run is bounded by
 * `amount` and by a timer that stops it after `maxSeconds`.
 */
export async function runCannon(options: CannonOptions): Promise<CannonResult> {
  const target = new URL(options.url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname)) throw new Error(`load tests run against 127.0.0.1 only, not ${target.hostname}`);
  const times = new Map<number, number[]>();
  const retryAfter = { values: [] as number[], missing: 0 };
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  let stopper: NodeJS.Timeout | undefined;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    // The callback form returns the running instance (the promise form does not), which is what
    // reports each response and can be stopped.
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        amount: options.amount,
        // A request still unanswered after the whole run's bound is a timeout, never a silent wait.
        timeout: options.maxSeconds,
        requests: [
          {
            method: options.method,
            path: options.path,
            body,
            headers: body === undefined ? {} : { 'content-type': 'application/json' },
            onResponse: (status, _body, _context, headers) => {
              if (status !== 429) return;
              const value = headerValue(headers as Record<string, unknown>, 'retry-after');
              if (value === undefined) retryAfter.missing++;
              else retryAfter.values.push(Number(value));
            },
          },
        ],
      },
      (err, done) => (err ? reject(err) : resolve(done)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      const list = times.get(statusCode) ?? [];
      list.push(responseTime);
      times.set(statusCode, list);
    });
    stopper = setTimeout(() => instance.stop(), options.maxSeconds * 1000);
  }).finally(() => clearTimeout(stopper));
  const statuses: Record<string, number> = {};
  const latencyByStatus: Record<string, Distribution> = {};
  for (const [status, list] of times) {
    statuses[String(status)] = list.length;
    latencyByStatus[String(status)] = distribution(list);
  }
  const requests = [...times.values()].reduce((sum, list) => sum + list.length, 0);
  const durationSeconds = result.duration;
  return { requests, durationSeconds, requestsPerSecond: requests / durationSeconds, statuses, latencyByStatus, retryAfter, errors: result.errors, timeouts: result.timeouts };
}

/** A header's value from autocannon's header object, whatever case the server wrote its name in. */
function headerValue(headers: Record<string, unknown>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? String(value[0]) : String(value);
  }
  return undefined;
}
