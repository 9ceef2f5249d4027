import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonl, greedyChatLine, uploadBatchFile } from './helpers/batch-files.js';
import { openApiValidator, startTestServer, type LogLine, type TestServer } from './helpers/server.js';

/** The served name of the tiny test model (its folder's name). */
const MODEL = 'int4';
const BODY_TIMEOUT_S = 1;
const HEADERS_TIMEOUT_S = 1;
/** pino's numeric level of `error`. */
const ERROR_LEVEL = 50;

/**
 * What a hostile or broken client sends, over real HTTP against a server on the tiny model:
 * malformed uploads, fields of the wrong type or out of range, messages without content,
 * `__proto__` keys, bodies that are not JSON, clients that hang up or stall mid-request. Each is
 * a 4xx in OpenAI's envelope (or a closed connection), none is logged as a server error, nothing
 * of the request's content reaches the log, and the server keeps serving.
 */
describe('hostile input', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hostile-input-'));
  const validate = openApiValidator();
  let server: TestServer;
  let client: OpenAI;
  const messages = [{ role: 'user' as const, content: 'Hello' }];

  beforeAll(async () => {
    server = await startTestServer({ dataDir, bodyTimeoutSeconds: BODY_TIMEOUT_S, headersTimeoutSeconds: HEADERS_TIMEOUT_S });
    client = server.openai();
  });
  afterAll(async () => {
    await server?.handle.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function expectError(response: Response, status: number, error: { code?: string | null; param?: string | null; type?: string }) {
    expect(response.status).toBe(status);
    const body = (await response.json()) as { error: { message: string; code: string | null; param: string | null; type: string } };
    expect(validate('ErrorResponse', body)).toEqual([]);
    expect(body.error).toMatchObject(error);
    return body.error;
  }

  /** The SDK's error for a call the server refuses. */
  async function sdkError(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
    const error = await call.then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    return error as InstanceType<typeof OpenAI.APIError>;
  }

  const noServerErrors = () => expect(server.logs.filter((line) => (line.level as number) >= ERROR_LEVEL)).toEqual([]);

  it('malformed multipart uploads are 400 invalid_multipart; a good upload still works', async () => {
    const part = '--abc\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--abc\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n{}\r\n--abc--\r\n';
    const upload = (contentType: string, body: string) => fetch(`${server.url}/v1/files`, { method: 'POST', headers: { 'content-type': contentType }, body });
    // A boundary that does not match the header's, none at all, a body cut off mid-part.
    await expectError(await upload('multipart/form-data; boundary=xyz', part), 400, { code: 'invalid_multipart', type: 'invalid_request_error' });
    await expectError(await upload('multipart/form-data', part), 400, { code: 'invalid_multipart' });
    await expectError(await upload('multipart/form-data; boundary=abc', part.slice(0, 90)), 400, { code: 'invalid_multipart' });
    await expectError(await upload('application/json', '{}'), 400, { code: 'invalid_multipart' });
    const file = await uploadBatchFile(client, jsonl([greedyChatLine('a', 'hi', 2)]));
    expect(file.status).toBe('processed');
    noServerErrors();
  });

  it('a field of the wrong type says what was expected and what came, with code invalid_type', async () => {
    const maxTokensString = await sdkError(client.chat.completions.create({ model: MODEL, messages, max_tokens: '5' as unknown as number }));
    expect(maxTokensString).toMatchObject({ status: 400, code: 'invalid_type', param: 'max_tokens' });
    expect(maxTokensString.message).toContain('max_tokens must be an integer, got a string');
    const maxTokensDecimal = await sdkError(client.chat.completions.create({ model: MODEL, messages, max_tokens: 1.5 }));
    expect(maxTokensDecimal).toMatchObject({ status: 400, code: 'invalid_type', param: 'max_tokens' });
    expect(maxTokensDecimal.message).toContain('must be an integer, got the decimal number 1.5');
    const flag = await sdkError(client.chat.completions.create({ model: MODEL, messages, logprobs: 'yes' as unknown as boolean }));
    expect(flag).toMatchObject({ code: 'invalid_type', param: 'logprobs' });
    expect(flag.message).toContain('logprobs must be true or false, got a string');
    const notArray = await expectError(await server.post('/v1/chat/completions', { messages: 'hi' }), 400, { code: 'invalid_type', param: 'messages' });
    expect(notArray.message).toBe('messages must be an array, got a string');
    // A required field that is absent is still told apart from one of the wrong type.
    await expectError(await server.post('/v1/chat/completions', {}), 400, { code: 'missing_required_parameter', param: 'messages' });
  });

  it('a value out of range says the bound and the value, with OpenAI codes for integers and decimals', async () => {
    const hot = await sdkError(client.chat.completions.create({ model: MODEL, messages, temperature: 2.5 }));
    expect(hot).toMatchObject({ code: 'decimal_above_max_value', param: 'temperature' });
    expect(hot.message).toContain('temperature must be at most 2, got 2.5');
    const none = await sdkError(client.chat.completions.create({ model: MODEL, messages, n: 0 }));
    expect(none).toMatchObject({ code: 'integer_below_min_value', param: 'n' });
    expect(none.message).toContain('n must be at least 1, got 0');
    const nucleus = await sdkError(client.completions.create({ model: MODEL, prompt: 'x', top_p: 0 }));
    expect(nucleus).toMatchObject({ code: 'decimal_below_min_value', param: 'top_p' });
    expect(nucleus.message).toContain('greater than 0');
    // 1e309 overflows to Infinity in JSON.parse: out of range, not "required".
    const infinite = await expectError(await server.post('/v1/chat/completions', `{"messages": ${JSON.stringify(messages)}, "temperature": 1e309}`), 400, {
      code: 'decimal_above_max_value',
      param: 'temperature',
    });
    expect(infinite.message).toContain('too large');
    await expectError(await server.post('/v1/chat/completions', { messages: [] }), 400, { code: 'empty_array', param: 'messages' });
    await expectError(await server.post('/v1/chat/completions', { messages, logit_bias: { '5': 101 } }), 400, { code: 'decimal_above_max_value', param: 'logit_bias.5' });
  });

  it('a message without content is a 400 on chat, instruct and /tokenize', async () => {
    const noContent = [{ role: 'user' }];
    const chat = await sdkError(client.chat.completions.create({ model: MODEL, messages: noContent as unknown as OpenAI.ChatCompletionMessageParam[] }));
    expect(chat).toMatchObject({ status: 400, code: 'missing_required_parameter', param: 'messages.0.content' });
    await expectError(await server.post('/v1/qwen3/instruct', { messages: noContent }), 400, { code: 'missing_required_parameter', param: 'messages.0.content' });
    await expectError(await server.post('/tokenize', { messages: noContent }), 400, { code: 'missing_required_parameter', param: 'messages.0.content' });
    await expectError(await server.post('/v1/chat/completions', { messages: [{ role: 'system', content: null }, ...messages] }), 400, { param: 'messages.0.content' });
    // An empty string is content: the client meant an empty turn.
    const empty = await server.post('/tokenize', { messages: [{ role: 'user', content: '' }] });
    expect(empty.status).toBe(200);
  });

  it('a __proto__ key is a 400, not silently dropped', async () => {
    const body = `{"messages": ${JSON.stringify(messages)}, "max_tokens": 1, "logit_bias": {"__proto__": 5}}`;
    const error = await expectError(await server.post('/v1/chat/completions', body), 400, { code: 'invalid_value', param: 'logit_bias.__proto__' });
    expect(error.message).toContain('__proto__');
    await expectError(await server.post('/v1/completions', '{"prompt": "x", "__proto__": {"max_tokens": 5}}'), 400, { param: '__proto__' });
  });

  it('nothing of a refused request reaches the log without --log-prompts', async () => {
    const secret = 'PRIVILEGED-CONTRACT-CLAUSE';
    const notJson = await expectError(await server.post('/v1/chat/completions', `${secret} is not json`), 400, { code: 'invalid_json' });
    expect(notJson.message).not.toContain(secret);
    expect(notJson.message).not.toContain('PRIV');
    const truncated = await expectError(await server.post('/v1/chat/completions', `{"messages": [{"role": "user", "content": "${secret}`), 400, { code: 'invalid_json' });
    expect(truncated.message).not.toContain(secret);
    await expectError(await server.post('/v1/chat/completions', { messages: [{ role: secret, content: 'x' }] }), 400, { param: 'messages.0.role' });
    await expectError(await server.post('/v1/chat/completions', { messages, logit_bias: { [secret]: 1 } }), 400, { code: 'invalid_value' });
    const logged = JSON.stringify(server.logs);
    expect(logged).not.toContain(secret);
    expect(logged).not.toContain('PRIV');
    const refusals = server.logs.filter((line) => line.msg === 'request' && line.status === 400);
    expect(refusals.length).toBeGreaterThanOrEqual(4);
    for (const line of refusals) expect(line.error).toEqual({ type: 'invalid_request_error', code: expect.any(String) });
  });

  it('a client that hangs up while uploading is logged as a client abort, not a 500', async () => {
    const before = server.logs.length;
    // A JSON body and a multipart upload, each cut off after its headers and a few bytes.
    await hangUpMidBody('/v1/chat/completions', 'application/json', '{"messages": [{"role": "user", "content": "aaaa');
    await hangUpMidBody('/v1/files', 'multipart/form-data; boundary=abc', '--abc\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n{"custom');
    const lines = await waitForLines(before, (line) => line.msg === 'request' && line.clientGone === true, 2);
    for (const line of lines) {
      expect(line.status).toBe(400);
      expect(line.error).toMatchObject({ code: 'client_closed_request' });
    }
    expect(server.logs.slice(before).filter((line) => line.msg === 'unexpected error answered as 500')).toEqual([]);
    noServerErrors();
  });

  it('a body that stalls is answered 408 body_timeout after --body-timeout and its connection closed', async () => {
    const socket = await open();
    const started = performance.now();
    socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"messages": [');
    const reply = await readUntilClosed(socket, 10_000);
    const seconds = (performance.now() - started) / 1000;
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
    expect(reply).toContain('"code":"body_timeout"');
    expect(seconds).toBeGreaterThanOrEqual(BODY_TIMEOUT_S * 0.9);
    expect(seconds).toBeLessThan(BODY_TIMEOUT_S + 3);
    noServerErrors();
  });

  it('headers that never finish are cut off after --headers-timeout', async () => {
    const socket = await open();
    const started = performance.now();
    socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n');
    const reply = await readUntilClosed(socket, 10_000);
    const seconds = (performance.now() - started) / 1000;
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
    expect(seconds).toBeLessThan(HEADERS_TIMEOUT_S + 3);
  });

  it('the server is still ready and answers after all of it', async () => {
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    const completion = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 2, temperature: 0 });
    expect(completion.usage?.completion_tokens).toBe(2);
    expect(server.handle.engine!.inFlight).toBe(0);
    noServerErrors();
  });

  function open(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect(server.handle.address.port, server.handle.address.host, () => resolve(socket));
      socket.once('error', reject);
    });
  }

  async function hangUpMidBody(path: string, contentType: string, start: string): Promise<void> {
    const socket = await open();
    socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nContent-Length: 100000\r\n\r\n${start}`);
    await new Promise((r) => setTimeout(r, 200));
    socket.destroy();
  }

  function readUntilClosed(socket: Socket, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`the connection was still open after ${timeoutMs} ms; got ${JSON.stringify(text)}`)), timeoutMs);
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('error', () => {});
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(text);
      });
    });
  }

  async function waitForLines(from: number, match: (line: LogLine) => boolean, count: number): Promise<LogLine[]> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const found = server.logs.slice(from).filter(match);
      if (found.length >= count) return found;
      if (Date.now() > deadline) throw new Error(`expected ${count} matching log lines, found ${found.length}: ${JSON.stringify(server.logs.slice(from))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
});
