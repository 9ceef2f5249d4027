import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveCommand } from '../src/commands/serve.js';
import type { StepReport } from '../src/engine/step-report.js';
import { DEFAULT_REQUEST_TIMEOUT_SECONDS } from '../src/server.js';
import { request } from './helpers/engine-driver.js';
import { fileText, greedyChatLine, jsonl, parseOutput, uploadBatchFile, waitForBatch } from './helpers/batch-files.js';
import { parseExposition, sampleValue } from './helpers/prometheus.js';
import { openApiValidator, sseData, startTestServer, type TestServer } from './helpers/server.js';

const TIMEOUT_SECONDS = 1;
/** Far more than the tiny model generates in TIMEOUT_SECONDS: such a request can only end by timing out. */
const LONG = { max_tokens: 4000, ignore_eos: true, temperature: 0 };

/**
 * `--request-timeout` over real HTTP on the tiny model: a whole answer past it is a 504 in the
 * envelope, a started stream ends with the error as its last event, a queued request times out
 * too, the KV row is free again, batch lines fail at once, and requests that finish in time are
 * untouched.
 */
describe('the request timeout', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'request-timeout-'));
  let server: TestServer;
  const validate = openApiValidator();
  const reports: StepReport[] = [];
  const messages = [{ role: 'user', content: 'Tell me a long story.' }];

  beforeAll(async () => {
    server = await startTestServer({ engine: { maxSeqs: 2 }, requestTimeoutSeconds: TIMEOUT_SECONDS, dataDir });
    server.handle.engine!.onStep((report) => reports.push(report));
  });
  afterAll(async () => {
    await server?.handle.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const timeoutErrors = async () =>
    sampleValue(parseExposition(await (await fetch(`${server.url}/metrics`)).text()), 'qwen3_serve_errors_total', { type: 'timeout_error', code: 'request_timeout' });

  /** A fresh request runs alone, and once it is done no row and no KV byte is held: nothing of a timed-out request is left. */
  async function expectRowsFree(): Promise<void> {
    expect(server.handle.engine!.inFlight).toBe(0);
    // A step already under way may still count the cancelled rows: the abort is taken between steps.
    const sentAt = Date.now();
    const response = await server.post('/v1/chat/completions', { messages, max_tokens: 2, ignore_eos: true });
    expect(response.status).toBe(200);
    const during = reports.filter((r) => r.startedAt >= sentAt);
    expect(Math.max(...during.map((r) => r.scheduler.numRunning + r.scheduler.numWaiting))).toBe(1);
    expect(during.at(-1)!.scheduler).toMatchObject({ numRunning: 0, numWaiting: 0 });
    expect(during.at(-1)!.kvBytesInUse).toBe(0);
  }

  it('a whole answer past it is a 504 timeout_error in the envelope, not to be retried; the row is freed', async () => {
    const started = performance.now();
    const response = await server.post('/v1/chat/completions', { messages, ...LONG });
    const seconds = (performance.now() - started) / 1000;
    expect(response.status).toBe(504);
    expect(response.headers.get('x-should-retry')).toBe('false');
    const body = (await response.json()) as { error: Record<string, unknown> };
    expect(validate('ErrorResponse', body)).toEqual([]);
    expect(body.error).toMatchObject({ type: 'timeout_error', code: 'request_timeout', param: null, message: expect.stringContaining(`${TIMEOUT_SECONDS} s`) });
    expect(seconds).toBeGreaterThanOrEqual(TIMEOUT_SECONDS * 0.95);
    expect(seconds).toBeLessThan(TIMEOUT_SECONDS + 5);
    await expectRowsFree();
    const line = server.logs.find((l) => l.msg === 'request' && l.status === 504);
    expect(line).toMatchObject({ route: '/v1/chat/completions', error: { type: 'timeout_error', code: 'request_timeout' } });
  });

  it('the OpenAI SDK gets an error it does not retry, even with retries enabled', async () => {
    const client: OpenAI = server.openai({ maxRetries: 2 });
    const requests = () => server.logs.filter((l) => l.msg === 'request' && l.route === '/v1/completions').length;
    const before = requests();
    await expect(client.completions.create({ model: 'int4', prompt: 'Once upon a time', ...LONG } as OpenAI.CompletionCreateParamsNonStreaming)).rejects.toMatchObject({
      status: 504,
      error: { type: 'timeout_error', code: 'request_timeout' },
    });
    expect(requests()).toBe(before + 1);
  });

  it('started streams end with the error as their last event (SSE before [DONE], NDJSON last line)', async () => {
    const errorsBefore = await timeoutErrors();
    const [chat, completion, instruct] = await Promise.all([
      server.post('/v1/chat/completions', { messages, ...LONG, stream: true }),
      server.post('/v1/completions', { prompt: 'Once upon a time', ...LONG, stream: true }),
      server.post('/v1/qwen3/instruct', { prompt: 'Tell me a long story.', ...LONG }),
    ]);
    expect([chat.status, completion.status, instruct.status]).toEqual([200, 200, 200]);
    const [chatText, completionText, instructText] = await Promise.all([chat.text(), completion.text(), instruct.text()]);

    for (const text of [chatText, completionText]) {
      const data = sseData(text);
      expect(data.at(-1)).toBe('[DONE]');
      const error = JSON.parse(data.at(-2)!) as unknown;
      expect(validate('ErrorResponse', error)).toEqual([]);
      expect(error).toMatchObject({ error: { type: 'timeout_error', code: 'request_timeout' } });
      // Cut off: far fewer chunks than max_tokens.
      expect(data.length).toBeLessThan(LONG.max_tokens);
    }
    const chatChunks = sseData(chatText).slice(0, -2).map((d) => JSON.parse(d) as { choices: { finish_reason: string | null }[] });
    expect(chatChunks.every((c) => c.choices[0].finish_reason === null)).toBe(true);

    expect(instructText.endsWith('\n')).toBe(true);
    const lines = instructText.slice(0, -1).split('\n').map((l) => JSON.parse(l) as unknown);
    expect(lines.at(-1)).toMatchObject({ error: { type: 'timeout_error', code: 'request_timeout' } });
    for (const line of lines) expect(validate('InstructLine', line)).toEqual([]);

    await expectRowsFree();
    expect(await timeoutErrors()).toBe(errorsBefore + 3);
  });

  it('a request that waits for a row all along times out too: the timeout counts the queue wait', async () => {
    // Both rows held by engine requests submitted without a timeout (not over HTTP).
    const engine = server.handle.engine!;
    const holders = new AbortController();
    const held = [0, 1].map((i) => engine.submit(request(`holder-${i}`, [9, 9, 9], { maxTokens: LONG.max_tokens }, { ignoreEos: true }), holders.signal));
    await expect.poll(() => reports.at(-1)?.scheduler.numRunning, { timeout: 10_000 }).toBe(2);
    const response = await server.post('/v1/qwen3/instruct', { prompt: 'Tell me a long story.', ...LONG });
    const text = await response.text();
    holders.abort();
    for (const events of held) for await (const _event of events);
    // Never admitted: no text, only the error line.
    expect(text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([{ error: expect.objectContaining({ type: 'timeout_error', code: 'request_timeout' }) }]);
    await expectRowsFree();
  });

  it('requests that finish in time are untouched, whole or streamed', async () => {
    const errorsBefore = await timeoutErrors();
    const whole = await server.post('/v1/chat/completions', { messages, max_tokens: 3, ignore_eos: true });
    expect(whole.status).toBe(200);
    expect(((await whole.json()) as { choices: { finish_reason: string }[] }).choices[0].finish_reason).toBe('length');
    const streamed = sseData(await (await server.post('/v1/completions', { prompt: 'One, two,', max_tokens: 3, ignore_eos: true, stream: true })).text());
    expect(streamed.at(-1)).toBe('[DONE]');
    expect(JSON.parse(streamed.at(-2)!)).toMatchObject({ choices: [{ finish_reason: 'length' }] });
    // Their timers were stopped with them: nothing fires once the timeout has passed.
    await new Promise((r) => setTimeout(r, TIMEOUT_SECONDS * 1000 + 200));
    expect(await timeoutErrors()).toBe(errorsBefore);
  });

  it('a batch line past it fails at once (504 in the error file, one attempt); the other lines complete', async () => {
    const client = server.openai();
    const file = await uploadBatchFile(client, jsonl([greedyChatLine('short', 'Say hi.', 3), { ...greedyChatLine('long', 'Tell me a long story.', LONG.max_tokens) }]));
    const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const batch = await waitForBatch(client, created.id, 30_000);
    expect(batch).toMatchObject({ status: 'completed', request_counts: { total: 2, completed: 1, failed: 1 } });
    expect(parseOutput(await fileText(client, batch.output_file_id)).map((l) => l.custom_id)).toEqual(['short']);
    const [failed] = parseOutput(await fileText(client, batch.error_file_id));
    expect(failed).toMatchObject({ custom_id: 'long', response: { status_code: 504, body: { error: { type: 'timeout_error', code: 'request_timeout' } } } });
    // One attempt: the line's exchange is logged once.
    expect(server.logs.filter((l) => l.msg === 'request' && l.status === 504 && l.requestId === failed.response!.request_id)).toHaveLength(1);
    const timedOutLines = server.logs.filter((l) => l.msg === 'request' && l.status === 504 && typeof l.requestId === 'string' && l.requestId.startsWith('batch_req_'));
    expect(timedOutLines).toHaveLength(1);
    await expectRowsFree();
  });
});

describe('serve --request-timeout', () => {
  it('is also QWEN3_SERVE_REQUEST_TIMEOUT, defaults to 30 minutes and takes fractional seconds; 0 turns it off', () => {
    const option = serveCommand().options.find((o) => o.long === '--request-timeout')!;
    expect(option.envVar).toBe('QWEN3_SERVE_REQUEST_TIMEOUT');
    expect(option.defaultValue).toBe(DEFAULT_REQUEST_TIMEOUT_SECONDS);
    expect(DEFAULT_REQUEST_TIMEOUT_SECONDS).toBe(1800);
    expect(option.parseArg!('0.5', undefined)).toBe(0.5);
    expect(option.parseArg!('0', undefined)).toBe(0);
    expect(() => option.parseArg!('-1', undefined)).toThrow('expected a non-negative number');
  });
});
