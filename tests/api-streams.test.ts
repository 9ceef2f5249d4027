import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiValidator, sseData, startTestServer, type TestServer } from './helpers/server.js';

/** The exact bytes of the streams: OpenAI's SSE framing, and the lean NDJSON instruct stream. */
describe('stream framing on the wire', () => {
  let server: TestServer;
  const validate = openApiValidator();
  const messages = [{ role: 'user', content: 'Count to three.' }];

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.handle.close();
  });

  it('chat: role chunk per choice first, content deltas, finish reason, usage chunk, [DONE]', async () => {
    const response = await server.post('/v1/chat/completions', {
      messages,
      n: 2,
      max_tokens: 5,
      temperature: 0,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const data = sseData(await response.text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    for (const chunk of chunks) expect(validate('ChatCompletionChunk', chunk)).toEqual([]);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    // First, one chunk per choice carrying the role.
    expect(chunks.slice(0, 2).map((c) => c.choices)).toEqual([
      [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
      [{ index: 1, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
    ]);
    // With include_usage, every chunk has usage: null but the last, which has no choices.
    const usageChunk = chunks.at(-1);
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toMatchObject({ completion_tokens: 10, total_tokens: usageChunk.usage.prompt_tokens + 10 });
    expect(chunks.slice(0, -1).every((c) => c.usage === null && c.choices.length === 1)).toBe(true);
    for (const index of [0, 1]) {
      const mine = chunks.slice(2, -1).filter((c) => c.choices[0].index === index).map((c) => c.choices[0]);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.slice(0, -1).every((c) => c.finish_reason === null && typeof c.delta.content === 'string')).toBe(true);
      expect(mine.at(-1)).toMatchObject({ finish_reason: 'length', stop_reason: null });
    }
  });

  it('chat without include_usage has no usage field at all', async () => {
    const response = await server.post('/v1/chat/completions', { messages, max_tokens: 3, stream: true });
    const data = sseData(await response.text());
    expect(data.at(-1)).toBe('[DONE]');
    for (const d of data.slice(0, -1)) expect(JSON.parse(d)).not.toHaveProperty('usage');
  });

  it('completions: text chunks, the finish reason on the last, [DONE]', async () => {
    const response = await server.post('/v1/completions', { prompt: 'One, two,', max_tokens: 4, temperature: 0, ignore_eos: true, stream: true });
    const data = sseData(await response.text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    for (const chunk of chunks) expect(validate('CompletionChunk', chunk)).toEqual([]);
    expect(chunks.every((c) => c.object === 'text_completion')).toBe(true);
    expect(chunks.at(-1).choices[0].finish_reason).toBe('length');
    expect(chunks.slice(0, -1).every((c) => c.choices[0].finish_reason === null)).toBe(true);
  });

  it('instruct: one JSON string per text piece, then the finish reason and usage; the same text as chat', async () => {
    const prompt = 'Count to three.';
    const response = await server.post('/v1/qwen3/instruct', { prompt, max_tokens: 12, temperature: 0, ignore_eos: true });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    const body = await response.text();
    expect(body.endsWith('\n')).toBe(true);
    const lines = body.slice(0, -1).split('\n').map((line) => JSON.parse(line) as unknown);
    for (const line of lines) expect(validate('InstructLine', line)).toEqual([]);
    const pieces = lines.slice(0, -1);
    expect(pieces.every((p) => typeof p === 'string' && p.length > 0)).toBe(true);
    const end = lines.at(-1) as { finish_reason: string; usage: { prompt_tokens: number; completion_tokens: number } };
    expect(end.finish_reason).toBe('length');
    expect(end.usage.completion_tokens).toBe(12);
    const chat = (await (await server.post('/v1/chat/completions', { messages: [{ role: 'user', content: prompt }], max_tokens: 12, temperature: 0, ignore_eos: true })).json()) as {
      choices: { message: { content: string } }[];
      usage: { prompt_tokens: number };
    };
    expect(pieces.join('')).toBe(chat.choices[0].message.content);
    expect(end.usage.prompt_tokens).toBe(chat.usage.prompt_tokens);
  });

  it('instruct takes a system prompt and a conversation, and is several times leaner per token than SSE chat', async () => {
    const request = { max_tokens: 16, temperature: 0, ignore_eos: true };
    const instruct = await (await server.post('/v1/qwen3/instruct', { system: 'Be brief.', messages, ...request })).text();
    const sse = await (await server.post('/v1/chat/completions', { messages: [{ role: 'system', content: 'Be brief.' }, ...messages], stream: true, ...request })).text();
    const instructText = instruct.trim().split('\n').slice(0, -1).map((l) => JSON.parse(l) as string).join('');
    const sseText = sseData(sse).slice(0, -1).map((d) => JSON.parse(d).choices[0]?.delta.content ?? '').join('');
    expect(instructText).toBe(sseText);
    expect(Buffer.byteLength(instruct) * 5).toBeLessThan(Buffer.byteLength(sse));
  });

  it('echoes a client X-Request-Id, or makes one up', async () => {
    const mine = await server.post('/v1/chat/completions', { messages, max_tokens: 2 }, { 'x-request-id': 'trace-abc.123' });
    expect(mine.headers.get('x-request-id')).toBe('trace-abc.123');
    await mine.text();
    const streamed = await server.post('/v1/qwen3/instruct', { prompt: 'hi', max_tokens: 2 }, { 'x-request-id': 'trace-stream-1' });
    expect(streamed.headers.get('x-request-id')).toBe('trace-stream-1');
    await streamed.text();
    const theirs = await fetch(`${server.url}/health`);
    expect(theirs.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const junk = await fetch(`${server.url}/health`, { headers: { 'x-request-id': 'has spaces in it' } });
    expect(junk.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const line = server.logs.find((l) => l.requestId === 'trace-abc.123');
    expect(line).toMatchObject({ msg: 'request', method: 'POST', route: '/v1/chat/completions', status: 200, completionTokens: 2 });
    expect(line).toHaveProperty('promptTokens');
    expect(line).toHaveProperty('ttftMs');
    expect(line).toHaveProperty('durationMs');
    // Prompts and outputs are not logged unless --log-prompts.
    expect(JSON.stringify(server.logs)).not.toContain('Count to three');
    await new Promise((r) => setTimeout(r, 50));
    expect(server.logs.find((l) => l.requestId === 'trace-stream-1')).toMatchObject({ route: '/v1/qwen3/instruct', completionTokens: 2 });
  });
});
