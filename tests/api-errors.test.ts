import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpObserver } from '../src/api/observability.js';
import { openApiValidator, startTestServer, type TestServer } from './helpers/server.js';

const KEY = 'sk-test-0123456789';
const MAX_BODY = 64 * 1024;
const CONTEXT = 256;

/**
 * Every error the API answers, over real HTTP: OpenAI's envelope, the right status, a `param`
 * naming the field, a stable `type` and `code` - and the server keeps serving afterwards.
 */
describe('API errors over HTTP', () => {
  let server: TestServer;
  const validate = openApiValidator();
  const exchanges: Parameters<HttpObserver['httpRequest']>[0][] = [];
  const errors: Parameters<HttpObserver['errorAnswered']>[0][] = [];
  const auth = { authorization: `Bearer ${KEY}` };
  const messages = [{ role: 'user', content: 'Hello' }];

  beforeAll(async () => {
    server = await startTestServer({
      apiKey: KEY,
      maxBodyBytes: MAX_BODY,
      engine: { maxSeqs: 1, maxModelLen: CONTEXT },
      maxWaiting: 1,
      observer: { httpRequest: (e) => exchanges.push(e), errorAnswered: (e) => errors.push(e) },
    });
  });
  afterAll(async () => {
    await server?.handle.close();
  });

  async function expectError(response: Response, status: number, error: { type?: string; code?: string | null; param?: string | null }) {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('x-request-id')).toBeTruthy();
    const body = (await response.json()) as { error: { message: string; type: string; param: string | null; code: string | null } };
    expect(validate('ErrorResponse', body)).toEqual([]);
    expect(body.error).toMatchObject(error);
    expect(body.error.message.length).toBeGreaterThan(0);
    return body.error;
  }

  const chat = (body: unknown, headers: Record<string, string> = auth) => server.post('/v1/chat/completions', body, headers);

  it('malformed JSON and non-object bodies are 400 invalid_json', async () => {
    await expectError(await chat('{"messages": [', auth), 400, { type: 'invalid_request_error', code: 'invalid_json', param: null });
    await expectError(await chat('[1, 2]', auth), 400, { type: 'invalid_request_error', code: 'invalid_json' });
  });

  it('an unknown parameter is a 400 naming it, never ignored', async () => {
    const error = await expectError(await chat({ messages, frobnicate: true }), 400, { type: 'invalid_request_error', code: 'unsupported_parameter', param: 'frobnicate' });
    expect(error.message).toContain('frobnicate');
    await expectError(await chat({ messages, chat_template_kwargs: { custom_flag: 1 } }), 400, { code: 'unsupported_parameter', param: 'chat_template_kwargs.custom_flag' });
    await expectError(await server.post('/v1/qwen3/instruct', { prompt: 'x', logprobs: true }, auth), 400, { code: 'unsupported_parameter', param: 'logprobs' });
  });

  it('a known parameter with a value we cannot honour is unsupported; its no-op value is accepted', async () => {
    await expectError(await chat({ messages, modalities: ['text', 'audio'] }), 400, { code: 'unsupported_parameter', param: 'modalities' });
    await expectError(await server.post('/v1/completions', { prompt: 'x', echo: true }, auth), 400, { code: 'unsupported_parameter', param: 'echo' });
    const ok = await chat({ messages, max_tokens: 1, tools: [], tool_choice: 'none', response_format: { type: 'text' } });
    expect(ok.status).toBe(200);
    await ok.text();
  });

  it.each([
    [{ temperature: 2.5 }, 'temperature'],
    [{ top_p: 0 }, 'top_p'],
    [{ n: 0 }, 'n'],
    [{ max_tokens: 0 }, 'max_tokens'],
    [{ logprobs: true, top_logprobs: 21 }, 'top_logprobs'],
    [{ top_logprobs: 2 }, 'top_logprobs'],
    [{ logit_bias: { '151936': 5 } }, 'logit_bias'],
    [{ seed: 'abc' }, 'seed'],
    [{ stop: 7 }, 'stop'],
    [{ max_tokens: 4, min_tokens: 5 }, 'min_tokens'],
    [{ stream_options: { include_usage: true } }, 'stream_options'],
  ])('out of range: %j is a 400 naming %s', async (fields, param) => {
    const error = await expectError(await chat({ messages, ...fields }), 400, { type: 'invalid_request_error', param });
    expect(error.message).toContain(param);
  });

  it('bad messages name the field at fault', async () => {
    await expectError(await chat({}), 400, { code: 'missing_required_parameter', param: 'messages' });
    await expectError(await chat({ messages: [] }), 400, { param: 'messages' });
    await expectError(await chat({ messages: [{ role: 'robot', content: 'hi' }] }), 400, { param: 'messages.0.role' });
    await expectError(await chat({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }), 400, { param: 'messages.0.content' });
  });

  it('a prompt that does not fit, or prompt + max_tokens beyond the context, is context_length_exceeded with both counts', async () => {
    const long = 'word '.repeat(400);
    const tooLong = await expectError(await chat({ messages: [{ role: 'user', content: long }] }), 400, { code: 'context_length_exceeded', param: 'messages' });
    expect(tooLong.message).toContain(String(CONTEXT));
    const promptTokens = ((await (await server.post('/tokenize', { messages }, auth)).json()) as { count: number }).count;
    const over = await expectError(await chat({ messages, max_tokens: CONTEXT }), 400, { code: 'context_length_exceeded', param: 'max_tokens' });
    expect(over.message).toContain(`${promptTokens} in the prompt`);
    expect(over.message).toContain(`${CONTEXT} to generate`);
    expect(over.message).toContain(`limit is ${CONTEXT} tokens`);
    // Without max_tokens, what fits is generated: exactly the room left.
    const fits = (await (await chat({ messages, ignore_eos: true, temperature: 0 })).json()) as { usage: { completion_tokens: number } };
    expect(fits.usage.completion_tokens).toBe(CONTEXT - promptTokens);
  });

  it('an unknown model is 404 model_not_found; an unknown route or method is 404', async () => {
    await expectError(await chat({ messages, model: 'gpt-4o' }), 404, { type: 'not_found_error', code: 'model_not_found', param: 'model' });
    await expectError(await server.post('/v1/embeddings', { input: 'x' }, auth), 404, { type: 'not_found_error', code: 'route_not_found' });
    await expectError(await fetch(`${server.url}/v1/chat/completions`, { headers: auth }), 404, { code: 'route_not_found' });
    await expectError(await server.post('/v1/completions', { prompt: [151936] }, auth), 400, { param: 'prompt.0' });
  });

  it('bodies over the limit are 413, with or without Content-Length', async () => {
    const big = JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(MAX_BODY) }] });
    await expectError(await chat(big), 413, { type: 'request_too_large', code: 'body_too_large' });
    const chunked = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const response = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: auth, body: chunked, duplex: 'half' } as RequestInit);
    await expectError(response, 413, { type: 'request_too_large' });
  });

  it('a configured API key is required on the API, compared exactly; probes stay open', async () => {
    await expectError(await chat({ messages }, {}), 401, { type: 'authentication_error', code: 'missing_api_key' });
    const wrong = await chat({ messages }, { authorization: `Bearer ${KEY}x` });
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer');
    await expectError(wrong, 401, { type: 'authentication_error', code: 'invalid_api_key' });
    await expectError(await chat({ messages }, { authorization: 'Bearer ' }), 401, { type: 'authentication_error' });
    await expectError(await fetch(`${server.url}/v1/models`), 401, { code: 'missing_api_key' });
    expect((await fetch(`${server.url}/v1/models`, { headers: auth })).status).toBe(200);
    await expect(server.openai({ apiKey: 'nope' }).models.list()).rejects.toMatchObject({ status: 401 });
    expect((await server.openai({ apiKey: KEY }).models.list()).data[0].id).toBe('int4');
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
  });

  it('a burst beyond the admission queue gets 429 with Retry-After; the others still finish', async () => {
    // One row (max-seqs 1) and one waiting place: the third concurrent request is refused.
    const long = { messages, max_tokens: 150, ignore_eos: true, stream: true };
    const controllers = [new AbortController(), new AbortController()];
    const running = await Promise.all(controllers.map((c) => fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: auth, body: JSON.stringify(long), signal: c.signal })));
    expect(running.map((r) => r.status)).toEqual([200, 200]);
    const refused = await chat({ messages, max_tokens: 2 });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectError(refused, 429, { type: 'rate_limit_error', code: 'queue_full' });
    const bodies = await Promise.all(running.map((r) => r.text()));
    expect(bodies.every((b) => b.endsWith('data: [DONE]\n\n'))).toBe(true);
    expect(server.handle.engine!.inFlight).toBe(0);
  });

  it('tokenize and detokenize round-trip; bad token ids are 400', async () => {
    const tokenized = (await (await server.post('/tokenize', { prompt: 'Hello there', return_token_strs: true }, auth)).json()) as {
      tokens: number[];
      token_strs: string[];
      max_model_len: number;
    };
    expect(validate('TokenizeResponse', tokenized)).toEqual([]);
    expect(tokenized.token_strs.join('')).toBe('Hello there');
    expect(tokenized.max_model_len).toBe(CONTEXT);
    const detokenized = await (await server.post('/detokenize', { tokens: tokenized.tokens }, auth)).json();
    expect(detokenized).toEqual({ prompt: 'Hello there' });
    await expectError(await server.post('/detokenize', { tokens: [1, 999999] }, auth), 400, { param: 'tokens.1' });
    await expectError(await server.post('/tokenize', { prompt: 'a', messages }, auth), 400, { param: 'prompt' });
  });

  it('reported every exchange by route pattern and every answered error by type', async () => {
    await new Promise((r) => setTimeout(r, 50));
    const routes = new Set(exchanges.map((e) => e.route));
    expect(routes).toContain('/v1/chat/completions');
    expect(routes).toContain('unmatched');
    expect([...routes].every((r) => r === 'unmatched' || r.startsWith('/'))).toBe(true);
    expect(exchanges.some((e) => e.route === '/v1/models/:id{.+}' || e.route === '/v1/models')).toBe(true);
    const types = new Set(errors.map((e) => e.type));
    for (const type of ['invalid_request_error', 'not_found_error', 'request_too_large', 'authentication_error', 'rate_limit_error']) expect(types).toContain(type);
    expect(errors.some((e) => e.code === 'context_length_exceeded')).toBe(true);
    expect(exchanges.filter((e) => e.status >= 400).length).toBe(errors.length);
  });
});
