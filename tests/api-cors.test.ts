import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

/**
 * CORS for browser apps (--cors-origins, Hono's middleware) on a keyed server, and the harmless
 * fields clients send that are accepted and ignored.
 */
describe('CORS and harmless fields', () => {
  let server: TestServer;
  const origin = 'https://app.example';
  const auth = { authorization: 'Bearer k' };

  beforeAll(async () => {
    server = await startTestServer({ corsOrigins: [origin], apiKey: 'k' });
  });
  afterAll(async () => {
    await server?.handle.close();
  });

  it('answers a preflight without the key, for the allowed origin only', async () => {
    const preflight = (from: string) =>
      fetch(`${server.url}/v1/chat/completions`, {
        method: 'OPTIONS',
        headers: { origin: from, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-stainless-os' },
      });
    const allowed = await preflight(origin);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(origin);
    expect(allowed.headers.get('access-control-allow-headers')).toContain('x-stainless-os');
    const other = await preflight('https://elsewhere.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('marks answers and errors for the allowed origin and exposes X-Request-Id', async () => {
    const ok = await server.post('/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }, { ...auth, origin });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(origin);
    expect(ok.headers.get('access-control-expose-headers')).toContain('X-Request-Id');
    await ok.text();
    const denied = await server.post('/v1/chat/completions', { messages: [] }, { origin });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe(origin);
  });

  it('a server without --cors-origins sends no CORS headers', async () => {
    const plain = await startTestServer();
    try {
      const response = await plain.post('/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }, { origin });
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      await response.text();
    } finally {
      await plain.handle.close();
    }
  });

  it('accepts and ignores metadata, store, service_tier, reasoning_effort, skip_special_tokens and parallel_tool_calls', async () => {
    const client = server.openai({ apiKey: 'k' });
    const completion = await client.chat.completions.create({
      model: 'int4',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 2,
      metadata: { team: 'a' },
      store: true,
      service_tier: 'auto',
      reasoning_effort: 'low',
      parallel_tool_calls: false,
      skip_special_tokens: true,
    } as ChatCompletionCreateParamsNonStreaming);
    expect(completion.choices[0].message.role).toBe('assistant');
  });
});
