/**
 * The lean stream against the SSE chat stream: bytes on the wire per generated token and time to
 * first byte / first token of `POST /v1/qwen3/instruct` (NDJSON) and `POST /v1/chat/completions`
 * (`stream: true`), on one server, the same greedy request to both, alternating which goes first.
 *
 *   npx tsx loadtest/stream-framing.ts --model models/qwen3-4b-int4-b128-seed0 [--requests 6] [--max-tokens 64] [--json FILE]
 *
 * Bytes are the response body's, as received (HTTP headers and chunked-encoding framing are left
 * out: both endpoints pay those alike). Time to first byte is to the first body chunk; time to
 * first token is to the first chunk that carries generated text. The server runs one request at a
 * time (--max-seqs 1), so the two never share a step. Prints a Markdown table and one JSON line.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseFlag, parsePositiveInt } from '../src/cli-options/option-parsers.js';
import { startServerProcess } from './serve/server-process.js';

const { values: flags } = parseArgs({
  options: {
    model: { type: 'string' },
    requests: { type: 'string', default: '6' },
    'max-tokens': { type: 'string', default: '64' },
    json: { type: 'string' },
  },
});
if (!flags.model) throw new Error('--model <dir> is required');
const requests = parseFlag('requests', flags.requests, parsePositiveInt);
const maxTokens = parseFlag('max-tokens', flags['max-tokens'], parsePositiveInt);

const PROMPT = 'Summarise in three sentences what a limitation of liability clause in a services agreement does.';

interface Measurement {
  bodyBytes: number;
  completionTokens: number;
  ttfbMs: number;
  ttftMs: number;
}

interface Endpoint {
  name: string;
  path: string;
  body: Record<string, unknown>;
  /** Whether a body chunk (text) carries generated text. */
  carriesText: (chunk: string) => boolean;
  /** The completion token count from the whole body. */
  completionTokens: (body: string) => number;
}

const common = { temperature: 0, ignore_eos: true, max_tokens: maxTokens };
const ENDPOINTS: Endpoint[] = [
  {
    name: 'SSE chat stream (/v1/chat/completions, stream: true)',
    path: '/v1/chat/completions',
    body: { ...common, messages: [{ role: 'user', content: PROMPT }], stream: true, stream_options: { include_usage: true } },
    carriesText: (chunk) => /"content":"[^"]/.test(chunk),
    completionTokens: (body) => {
      const usage = body
        .split('\n')
        .filter((line) => line.startsWith('data: {'))
        .map((line) => JSON.parse(line.slice(6)) as { usage?: { completion_tokens: number } | null })
        .find((event) => event.usage);
      if (!usage?.usage) throw new Error('the SSE stream carried no usage chunk');
      return usage.usage.completion_tokens;
    },
  },
  {
    name: 'lean NDJSON stream (/v1/qwen3/instruct)',
    path: '/v1/qwen3/instruct',
    body: { ...common, prompt: PROMPT },
    carriesText: (chunk) => /^"/m.test(chunk),
    completionTokens: (body) => {
      const last = JSON.parse(body.trim().split('\n').at(-1)!) as { usage?: { completion_tokens: number } };
      if (!last.usage) throw new Error(`the NDJSON stream ended without usage: ${body.slice(-200)}`);
      return last.usage.completion_tokens;
    },
  },
];

async function measure(url: string, endpoint: Endpoint): Promise<Measurement> {
  const started = performance.now();
  const response = await fetch(url + endpoint.path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(endpoint.body) });
  if (response.status !== 200 || !response.body) throw new Error(`${endpoint.path} answered ${response.status}: ${await response.text()}`);
  const decoder = new TextDecoder();
  let body = '';
  let bodyBytes = 0;
  let ttfbMs: number | undefined;
  let ttftMs: number | undefined;
  for await (const bytes of response.body) {
    const now = performance.now() - started;
    ttfbMs ??= now;
    bodyBytes += bytes.byteLength;
    const chunk = decoder.decode(bytes, { stream: true });
    if (ttftMs === undefined && endpoint.carriesText(chunk)) ttftMs = now;
    body += chunk;
  }
  if (ttfbMs === undefined || ttftMs === undefined) throw new Error(`${endpoint.path} streamed no text`);
  return { bodyBytes, completionTokens: endpoint.completionTokens(body), ttfbMs, ttftMs };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
const round = (value: number) => Math.round(value * 10) / 10;

const server = await startServerProcess({ modelDir: flags.model, maxSeqs: 1, maxWaiting: 8 });
try {
  await measure(server.url, ENDPOINTS[1]); // warm-up, not counted
  const results = new Map<Endpoint, Measurement[]>(ENDPOINTS.map((endpoint) => [endpoint, []]));
  for (let i = 0; i < requests; i++) {
    // Alternate which endpoint goes first, so neither always follows the other's step.
    const order = i % 2 === 0 ? ENDPOINTS : [...ENDPOINTS].reverse();
    for (const endpoint of order) results.get(endpoint)!.push(await measure(server.url, endpoint));
  }
  const rows = ENDPOINTS.map((endpoint) => {
    const runs = results.get(endpoint)!;
    const bytes = runs.reduce((sum, run) => sum + run.bodyBytes, 0);
    const tokens = runs.reduce((sum, run) => sum + run.completionTokens, 0);
    return {
      endpoint: endpoint.name,
      requests: runs.length,
      completionTokens: tokens,
      bytesPerToken: round(bytes / tokens),
      ttfbMedianMs: round(median(runs.map((run) => run.ttfbMs))),
      ttftMedianMs: round(median(runs.map((run) => run.ttftMs))),
    };
  });
  const [sse, lean] = rows;
  const report = {
    model: flags.model,
    maxTokens,
    rows,
    leanBytesPerTokenRatio: Math.round((lean.bytesPerToken / sse.bytesPerToken) * 1000) / 1000,
    leanTtftRatio: Math.round((lean.ttftMedianMs / sse.ttftMedianMs) * 1000) / 1000,
  };
  console.log('| stream | requests | tokens | body bytes per token | TTFB median ms | TTFT median ms |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) console.log(`| ${row.endpoint} | ${row.requests} | ${row.completionTokens} | ${row.bytesPerToken} | ${row.ttfbMedianMs} | ${row.ttftMedianMs} |`);
  console.log(`\nlean / SSE: ${report.leanBytesPerTokenRatio}x the bytes per token, ${report.leanTtftRatio}x the time to first token`);
  console.log(JSON.stringify(report));
  if (flags.json) writeFileSync(flags.json, JSON.stringify(report, null, 2) + '\n');
} finally {
  await server.stop();
}
