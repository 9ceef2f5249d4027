import type OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepReport } from '../src/engine/step-report.js';
import { openApiValidator, startTestServer, type TestServer } from './helpers/server.js';

/**
 * The official OpenAI client against a real server on the tiny model: what a user pointing the
 * SDK at us gets, checked for exactness (usage, stop, seed, logprobs) and against openapi.yaml.
 */
describe('the OpenAI SDK against qwen3-serve', () => {
  let server: TestServer;
  let client: OpenAI;
  const validate = openApiValidator();
  const reports: StepReport[] = [];
  const messages = [{ role: 'user' as const, content: 'Write a haiku about the sea.' }];

  beforeAll(async () => {
    server = await startTestServer();
    client = server.openai();
    server.handle.engine!.onStep((report) => reports.push(report));
  });
  afterAll(async () => {
    await server?.handle.close();
  });

  /** vLLM's extras ride along in the body; the SDK sends unknown fields as they are. */
  function chat(params: Partial<ChatCompletionCreateParamsNonStreaming> & Record<string, unknown>) {
    return client.chat.completions.create({ model: 'int4', messages, ...params } as ChatCompletionCreateParamsNonStreaming);
  }

  async function promptTokenCount(): Promise<number> {
    const response = await server.post('/tokenize', { messages });
    return ((await response.json()) as { count: number }).count;
  }

  it('answers a chat with exact usage, in the documented shape', async () => {
    const completion = await chat({ max_tokens: 12, temperature: 0, ignore_eos: true });
    expect(validate('ChatCompletion', completion)).toEqual([]);
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('int4');
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0].message.role).toBe('assistant');
    expect(completion.choices[0].message.content!.length).toBeGreaterThan(0);
    expect(completion.choices[0].finish_reason).toBe('length');
    const promptTokens = await promptTokenCount();
    // The server's first request: nothing can come from the prefix cache yet.
    expect(completion.usage).toEqual({
      prompt_tokens: promptTokens,
      completion_tokens: 12,
      total_tokens: promptTokens + 12,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
  });

  it('streams the same text as the whole answer, then the usage chunk', async () => {
    const whole = await chat({ max_tokens: 10, temperature: 0, ignore_eos: true });
    const stream = await client.chat.completions.create({
      model: 'int4',
      messages,
      max_tokens: 10,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
      ignore_eos: true,
    } as ChatCompletionCreateParamsStreaming);
    let text = '';
    const finishReasons: (string | null)[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      expect(validate('ChatCompletionChunk', chunk)).toEqual([]);
      for (const choice of chunk.choices) {
        text += choice.delta.content ?? '';
        if (choice.finish_reason) finishReasons.push(choice.finish_reason);
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(whole.choices[0].message.content);
    expect(finishReasons).toEqual(['length']);
    expect(usage).toEqual(whole.usage);
  });

  it("a chat's second turn reports the history it reused from the prefix cache as cached_tokens", async () => {
    const turn1: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'system', content: 'You are a marine biologist who answers in one short sentence.' },
      { role: 'user', content: 'Name one animal that lives in the deep sea, and say where it hunts.' },
    ];
    const first = await client.chat.completions.create({ model: 'int4', messages: turn1, max_tokens: 8, temperature: 0, ignore_eos: true } as ChatCompletionCreateParamsNonStreaming);
    expect(first.usage!.prompt_tokens_details).toEqual({ cached_tokens: 0 });
    const turn2: OpenAI.ChatCompletionMessageParam[] = [...turn1, { role: 'assistant', content: first.choices[0].message.content }, { role: 'user', content: 'And one more?' }];
    const stream = await client.chat.completions.create({
      model: 'int4',
      messages: turn2,
      max_tokens: 4,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
      ignore_eos: true,
    } as ChatCompletionCreateParamsStreaming);
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      expect(validate('ChatCompletionChunk', chunk)).toEqual([]);
      if (chunk.usage) usage = chunk.usage;
    }
    // At least turn 1's whole prompt is the start of turn 2's, so its KV is reused; the prompt's
    // last token is always computed.
    const cached = usage!.prompt_tokens_details!.cached_tokens!;
    expect(cached).toBeGreaterThanOrEqual(first.usage!.prompt_tokens);
    expect(cached).toBeLessThan(usage!.prompt_tokens);
    // The server log line of the request says so too.
    await expect.poll(() => server.logs.findLast((line) => line.route === '/v1/chat/completions')?.cachedPromptTokens).toBe(cached);
    const whole = await client.chat.completions.create({ model: 'int4', messages: turn2, max_tokens: 4, temperature: 0, ignore_eos: true } as ChatCompletionCreateParamsNonStreaming);
    expect(validate('ChatCompletion', whole)).toEqual([]);
    expect(whole.usage!.prompt_tokens_details!.cached_tokens).toBeGreaterThan(0);
  });

  it('n=2 gives two independent choices; usage sums them', async () => {
    const completion = await chat({ n: 2, max_tokens: 8, temperature: 1, seed: 7, ignore_eos: true });
    expect(validate('ChatCompletion', completion)).toEqual([]);
    expect(completion.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(completion.choices[0].message.content).not.toBe(completion.choices[1].message.content);
    expect(completion.usage!.completion_tokens).toBe(16);
  });

  it('stops at a stop string, which is not part of the output', async () => {
    const free = (await chat({ max_tokens: 24, temperature: 0, ignore_eos: true })).choices[0].message.content!;
    // A stop string taken from the middle of the greedy output: the same run must end just before it.
    const stop = free.slice(Math.floor(free.length / 2), Math.floor(free.length / 2) + 3);
    const stopped = await chat({ max_tokens: 24, temperature: 0, ignore_eos: true, stop: [stop] });
    expect(stopped.choices[0].message.content).toBe(free.slice(0, free.indexOf(stop)));
    expect(stopped.choices[0].finish_reason).toBe('stop');
    expect((stopped.choices[0] as unknown as { stop_reason: unknown }).stop_reason).toBe(stop);
  });

  it('a seed makes sampling reproducible', async () => {
    const run = async (seed: number) => (await chat({ max_tokens: 12, temperature: 1, top_p: 1, seed, ignore_eos: true })).choices[0].message.content;
    const first = await run(11);
    expect(await run(11)).toBe(first);
    const others = await Promise.all([run(12), run(13), run(14)]);
    expect(others.some((text) => text !== first)).toBe(true);
  });

  it('returns logprobs with token text, bytes and the most likely alternatives', async () => {
    const completion = await chat({ max_tokens: 6, temperature: 0, ignore_eos: true, logprobs: true, top_logprobs: 3 });
    expect(validate('ChatCompletion', completion)).toEqual([]);
    const content = completion.choices[0].logprobs!.content!;
    expect(content).toHaveLength(6);
    for (const entry of content) {
      expect(entry.top_logprobs).toHaveLength(3);
      // Greedy: the chosen token is the most likely one, and its logprob is that alternative's.
      expect(entry.token).toBe(entry.top_logprobs[0].token);
      expect(entry.logprob).toBeCloseTo(entry.top_logprobs[0].logprob, 12);
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.top_logprobs[0].logprob).toBeGreaterThanOrEqual(entry.top_logprobs[1].logprob);
    }
    const bytes = Buffer.from(content.flatMap((entry) => entry.bytes!));
    expect(bytes.toString('utf8')).toBe(completion.choices[0].message.content);
  });

  it('a client that aborts mid-stream cancels its request and frees its KV row', async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'int4', messages, max_tokens: 3000, stream: true, ignore_eos: true } as ChatCompletionCreateParamsStreaming,
      { signal: controller.signal },
    );
    let chunks = 0;
    try {
      // Stop reading at once: after abort() the SDK may still hand out chunks it had already
      // parsed from the same network read (seen: a fifth), which says nothing about the server.
      for await (const _chunk of stream) {
        if (++chunks === 4) {
          controller.abort();
          break;
        }
      }
    } catch (err) {
      // The SDK either ends the loop quietly on abort or throws its abort error.
      expect(String(err)).toMatch(/abort/i);
    }
    const engine = server.handle.engine!;
    const deadline = Date.now() + 10_000;
    while (engine.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(engine.inFlight).toBe(0);
    // The worker frees the row at its next step: a fresh request then runs alone.
    const after = await chat({ max_tokens: 2, temperature: 0 });
    expect(after.choices[0].finish_reason).toBeDefined();
    const last = reports.at(-1)!;
    expect(last.scheduler.numRunning).toBeLessThanOrEqual(1);
    expect(last.generatedTokens).toBeLessThan(3000);
    const line = server.logs.find((l) => l.msg === 'request' && l.clientGone === true);
    expect(line).toMatchObject({ route: '/v1/chat/completions', status: 200 });
    expect((line!.completionTokens as number | undefined) ?? 0).toBeLessThan(3000);
  });

  it('a client that gives up on a whole (non-streamed) answer cancels its request too', async () => {
    const engine = server.handle.engine!;
    const gone = () => server.logs.filter((l) => l.msg === 'request' && l.clientGone === true);
    const goneBefore = gone().length;
    const controller = new AbortController();
    const answer = client.chat.completions.create({ model: 'int4', messages, max_tokens: 3000, ignore_eos: true } as ChatCompletionCreateParamsNonStreaming, {
      signal: controller.signal,
    });
    await expect.poll(() => engine.inFlight, { timeout: 5000 }).toBe(1);
    controller.abort();
    await expect(answer).rejects.toThrow(/abort/i);
    await expect.poll(() => engine.inFlight, { timeout: 5000 }).toBe(0);
    // Logged as a client that left, before any usage existed: the request was cut, not finished.
    await expect.poll(() => gone().length).toBe(goneBefore + 1);
    expect(gone().at(-1)).not.toHaveProperty('completionTokens');
  });

  it('text completions: a prompt string or token ids, logprobs as counts of alternatives', async () => {
    const completion = await client.completions.create({ model: 'int4', prompt: 'Once upon a time', max_tokens: 5, temperature: 0, logprobs: 2 });
    expect(validate('Completion', completion)).toEqual([]);
    const choice = completion.choices[0];
    expect(choice.finish_reason).toMatch(/^(length|stop)$/);
    const logprobs = choice.logprobs!;
    expect(logprobs.tokens!.length).toBe(completion.usage!.completion_tokens);
    expect(logprobs.tokens!.join('')).toBe(choice.text);
    expect(logprobs.text_offset![0]).toBe(0);
    for (const [i, top] of logprobs.top_logprobs!.entries()) {
      expect(Object.keys(top).length).toBeGreaterThanOrEqual(1);
      expect(top[logprobs.tokens![i]]).toBeCloseTo(logprobs.token_logprobs![i], 12);
    }
    const ids = (await (await server.post('/tokenize', { prompt: 'Once upon a time' })).json()) as { tokens: number[] };
    const fromIds = await client.completions.create({ model: 'int4', prompt: ids.tokens, max_tokens: 5, temperature: 0 });
    expect(fromIds.choices[0].text).toBe(choice.text);
    expect(fromIds.usage!.prompt_tokens).toBe(ids.tokens.length);
  });

  it('streams text completions', async () => {
    const stream = await client.completions.create({ model: 'int4', prompt: 'Once upon a time', max_tokens: 5, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      expect(validate('CompletionChunk', chunk)).toEqual([]);
      text += chunk.choices.map((c) => c.text).join('');
      usage ??= chunk.usage;
    }
    const whole = await client.completions.create({ model: 'int4', prompt: 'Once upon a time', max_tokens: 5, temperature: 0 });
    expect(text).toBe(whole.choices[0].text);
    expect(usage).toEqual(whole.usage);
  });

  it('lists and retrieves the served model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['int4']);
    expect(validate('Model', models.data[0])).toEqual([]);
    expect((await client.models.retrieve('int4')).id).toBe('int4');
    await expect(client.models.retrieve('gpt-4o')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('an unknown model in a request is a 404 the SDK reports', async () => {
    await expect(chat({ model: 'gpt-4o', max_tokens: 2 })).rejects.toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
  });
});
