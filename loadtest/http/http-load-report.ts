import { gigabytes, loadTriple, markdownTable } from '../bench/markdown-table.js';
import type { Distribution } from '../serve/serving-metrics.js';
import type { CannonResult } from './autocannon-run.js';
import type { HttpLoadResult } from './http-load.js';

const ms = (d: Distribution | undefined) => (d ? `${d.median.toFixed(1)} / ${d.p99.toFixed(1)} / ${d.max.toFixed(1)}` : '-');
const verdict = (ok: boolean) => (ok ? 'yes' : 'NO');

function statuses(cannon: CannonResult): string {
  return Object.entries(cannon.statuses)
    .map(([status, n]) => `${status}: ${n}`)
    .join(', ');
}

/** The HTTP load run as Markdown: one table per scenario and the expectations each must meet. */
export function formatHttpLoad(result: HttpLoadResult): string {
  const { overload, cheap, disconnects } = result;
  const lines: string[] = [];
  lines.push(`Server: qwen3-serve serve ${result.server.args.join(' ')} (admits ${result.server.capacity} requests: running + waiting). Load average start ${loadTriple(result.loadAverage.start)}, end ${loadTriple(result.loadAverage.end)}.`);

  const o = overload.options;
  const retry = overload.cannon.retryAfter;
  lines.push('', `Overload: ${o.connections} connections sending non-streamed completions (${o.promptTokens} prompt tokens, ${o.maxTokens} generated) back to back, ${o.amount} requests at most, ${o.maxSeconds} s at most:`, '');
  lines.push(
    markdownTable(
      ['requests', 'statuses', 'req/s', '429 latency median / p99 / max ms', '200 latency median / p99 / max ms', 'Retry-After values', 'socket errors / timeouts', 'server RSS before / max / after'],
      [
        [
          String(overload.cannon.requests),
          statuses(overload.cannon),
          overload.cannon.requestsPerSecond.toFixed(0),
          ms(overload.cannon.latencyByStatus['429']),
          ms(overload.cannon.latencyByStatus['200']),
          retry.values.length > 0 ? `${Math.min(...retry.values)}-${Math.max(...retry.values)} s (${retry.missing} missing)` : `none (${retry.missing} missing)`,
          `${overload.cannon.errors} / ${overload.cannon.timeouts}`,
          `${gigabytes(overload.rssBytes.before)} / ${gigabytes(overload.rssBytes.max)} / ${gigabytes(overload.rssBytes.after)}`,
        ],
      ],
    ),
  );
  lines.push(
    '',
    `Expectations: excess refused with 429: ${verdict(overload.refused > 0)}; every 429 has Retry-After: ${verdict(retry.missing === 0)}; no 5xx: ${verdict(overload.serverErrors === 0)}; ` +
      `memory flat (max within 10% of before): ${verdict(overload.rssBytes.max <= overload.rssBytes.before * 1.1)}.`,
  );

  const g = cheap.options.generation;
  lines.push('', `Cheap requests: autocannon, ${cheap.options.connections} connections, ${cheap.options.amount} requests per path, idle and then while ${g.streams} streams generate (${g.promptTokens} prompt tokens, ${g.maxTokens} output tokens, back to back):`, '');
  lines.push(
    markdownTable(
      ['path', 'idle req/s', 'idle median / p99 / max ms', 'busy req/s', 'busy median / p99 / max ms', 'busy non-200'],
      cheap.paths.map((p) => [
        p.path,
        p.idle.requestsPerSecond.toFixed(0),
        ms(p.idle.latencyByStatus['200']),
        p.busy.requestsPerSecond.toFixed(0),
        ms(p.busy.latencyByStatus['200']),
        String(p.busy.requests - (p.busy.statuses['200'] ?? 0) + p.busy.errors + p.busy.timeouts),
      ]),
    ),
  );
  lines.push('', `Generation meanwhile: ${cheap.generation.completed} requests completed, ${cheap.generation.failed} failed, ${cheap.generation.outputTokens} tokens.`);

  const d = disconnects.options;
  lines.push(
    '',
    `Mid-stream disconnects: ${d.requests} streams (${d.concurrency} at a time, max_tokens ${d.maxTokens}) closed by the client after ${d.abortAfterChunks} chunk(s): ${disconnects.dropped} dropped mid-stream, ` +
      `${disconnects.engineAborts} ended by the engine as aborted; /metrics idle (nothing running or waiting, no KV in use) after ${disconnects.settledAfterMs === null ? `more than ${d.settleSeconds} s` : `${disconnects.settledAfterMs.toFixed(0)} ms`} ` +
      `(running ${disconnects.after.running}, waiting ${disconnects.after.waiting}, KV ${disconnects.after.kvUsedBytes} bytes); follow-up wave of ${disconnects.followUp.completed + disconnects.followUp.failed} concurrent requests: ` +
      `${disconnects.followUp.completed} completed, ${disconnects.followUp.failed} failed. No slot leak: ${verdict(disconnects.settledAfterMs !== null && disconnects.followUp.failed === 0)}.`,
  );
  return lines.join('\n');
}
