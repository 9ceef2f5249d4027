import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import OpenAI from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESPONSES_DATABASE_FILE } from '../src/api/responses/response-store.js';
import { fileText, jsonl, parseOutput, uploadBatchFile, waitForBatch, type InputLine } from './helpers/batch-files.js';
import { openApiValidator, startTestServer, type TestServer } from './helpers/server.js';

/**
 * The Responses API through the official client on the tiny random-weights model. Its text is
 * gibberish, so a response's text is checked against the chat completion of the same
 * conversation at temperature 0: equal text and equal prompt tokens mean the input, instructions
 * and stored history were rendered as the chat API renders them.
 */
const WEATHER = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string', enum: ['Oslo', 'Lima'] }, days: { type: 'integer', minimum: 1, maximum: 7 } },
    required: ['city', 'days'],
    additionalProperties: false,
  },
  strict: true,
};
const PERSON = {
  type: 'object',
  properties: { name: { type: 'string', maxLength: 12 }, age: { type: 'integer', minimum: 0, maximum: 120 }, tags: { type: 'array', items: { enum: ['a', 'b'] }, maxItems: 3 } },
  required: ['name', 'age', 'tags'],
  additionalProperties: false,
};

/** Extras the SDK's types do not list (seed, logit_bias); the server accepts them as the chat API does. */
const extras = (fields: Record<string, unknown>): object => fields;

describe('the Responses API on the tiny model', () => {
  let server: TestServer;
  let client: OpenAI;
  const dataDir = mkdtempSync(join(tmpdir(), 'responses-api-'));
  const ajv = new Ajv2020({ strict: false });
  const validate = openApiValidator();
  const greedy = { model: 'int4', temperature: 0 } as const;
  /** A response checked against the documented schema; `output_text` is the SDK's own addition, not the server's. */
  const schemaErrors = (response: OpenAI.Responses.Response) => {
    const { output_text: _added, ...sent } = response;
    return validate('Response', sent);
  };

  beforeAll(async () => {
    server = await startTestServer({ dataDir });
    client = server.openai();
  });
  afterAll(async () => {
    await server?.handle.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The chat completion of the same conversation, greedy, for comparison. */
  async function chatOf(messages: OpenAI.ChatCompletionMessageParam[], maxTokens: number) {
    const chat = await client.chat.completions.create({ ...greedy, messages, max_tokens: maxTokens });
    return { text: chat.choices[0].message.content, promptTokens: chat.usage!.prompt_tokens };
  }

  it('text input with instructions: the chat answer of [system, user], usage and an incomplete status at the limit', async () => {
    const response = await client.responses.create({ ...greedy, input: 'Name a colour.', instructions: 'Answer in one word.', max_output_tokens: 8 });
    expect(schemaErrors(response)).toEqual([]);
    expect(response.id).toMatch(/^resp_[0-9a-f]{32}$/);
    expect(response.object).toBe('response');
    expect(response.instructions).toBe('Answer in one word.');
    const message = response.output.find((item) => item.type === 'message');
    expect(message?.type === 'message' && message.content[0].type).toBe('output_text');
    const chat = await chatOf([{ role: 'system', content: 'Answer in one word.' }, { role: 'user', content: 'Name a colour.' }], 8);
    expect(response.output_text).toBe(chat.text);
    expect(response.usage!.input_tokens).toBe(chat.promptTokens);
    expect(response.usage!.output_tokens).toBeLessThanOrEqual(8);
    expect(response.usage!.total_tokens).toBe(response.usage!.input_tokens + response.usage!.output_tokens);
    if (response.usage!.output_tokens === 8) {
      expect(response.status).toBe('incomplete');
      expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    }
  });

  it('a message list with content parts renders as the same chat', async () => {
    const response = await client.responses.create({
      ...greedy,
      input: [
        { role: 'developer', content: 'Be terse.' },
        { role: 'user', content: [{ type: 'input_text', text: 'Hi' }] },
        { role: 'assistant', content: 'Hello.' },
        { type: 'message', role: 'user', content: 'Count to three.' },
      ],
      max_output_tokens: 6,
    });
    const chat = await chatOf(
      [
        { role: 'system', content: 'Be terse.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: 'Count to three.' },
      ],
      6,
    );
    expect(response.output_text).toBe(chat.text);
    expect(response.usage!.input_tokens).toBe(chat.promptTokens);
  });

  it('previous_response_id continues the stored conversation (not its instructions); GET returns it, DELETE removes it; store: false keeps nothing', async () => {
    const first = await client.responses.create({ ...greedy, input: 'First question.', instructions: 'Only for the first turn.', max_output_tokens: 5 });
    const second = await client.responses.create({ ...greedy, input: 'Second question.', previous_response_id: first.id, max_output_tokens: 5 });
    expect(second.previous_response_id).toBe(first.id);
    const chat = await chatOf(
      [
        { role: 'user', content: 'First question.' },
        { role: 'assistant', content: first.output_text },
        { role: 'user', content: 'Second question.' },
      ],
      5,
    );
    expect(second.output_text).toBe(chat.text);
    expect(second.usage!.input_tokens).toBe(chat.promptTokens);

    const fetched = await client.responses.retrieve(first.id);
    expect(schemaErrors(fetched)).toEqual([]);
    expect(fetched).toEqual(first);

    await client.responses.delete(second.id);
    await expect(client.responses.retrieve(second.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client.responses.delete(second.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);

    const unkept = await client.responses.create({ ...greedy, input: 'Forget this.', store: false, max_output_tokens: 2 });
    await expect(client.responses.retrieve(unkept.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const refused = await client.responses.create({ ...greedy, input: 'More.', previous_response_id: unkept.id }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('previous_response_not_found');
    expect((refused as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('previous_response_id');
  });

  it('text.format json_schema: the output text is valid against the schema (ajv), status completed', async () => {
    for (const seed of [1, 2, 3]) {
      const response = await client.responses.create({
        model: 'int4',
        ...extras({ seed }),
        input: 'Describe a person.',
        text: { format: { type: 'json_schema', name: 'person', schema: PERSON, strict: true } },
        max_output_tokens: 200,
      });
      expect(schemaErrors(response)).toEqual([]);
      expect(response.status).toBe('completed');
      const value: unknown = JSON.parse(response.output_text);
      expect(ajv.validate(PERSON, value), response.output_text).toBe(true);
    }
  });

  it("tool_choice 'required' answers a function_call item valid against the tool's schema; its output continues the conversation", async () => {
    const response = await client.responses.create({ model: 'int4', ...extras({ seed: 4 }), input: 'Weather in Oslo this week?', tools: [WEATHER], tool_choice: 'required', max_output_tokens: 200 });
    expect(schemaErrors(response)).toEqual([]);
    const calls = response.output.filter((item) => item.type === 'function_call');
    expect(calls.length).toBeGreaterThanOrEqual(1);
    const call = calls[0];
    if (call.type !== 'function_call') throw new Error('not a call');
    expect(call.name).toBe('get_weather');
    expect(call.call_id).toMatch(/^call_/);
    expect(ajv.validate(WEATHER.parameters, JSON.parse(call.arguments)), call.arguments).toBe(true);

    const followUp = await client.responses.create({
      ...greedy,
      previous_response_id: response.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: '{"forecast": "sunny"}' }],
      tools: [WEATHER],
      tool_choice: 'none',
      max_output_tokens: 4,
    });
    // Without tools shown (tool_choice none) the template renders the call and its result as the chat API does.
    const chat = await client.chat.completions.create({
      ...greedy,
      messages: [
        { role: 'user', content: 'Weather in Oslo this week?' },
        { role: 'assistant', content: null, tool_calls: calls.map((c) => (c.type === 'function_call' ? { id: c.call_id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } } : null!)) },
        { role: 'tool', tool_call_id: call.call_id, content: '{"forecast": "sunny"}' },
      ],
      max_tokens: 4,
    });
    expect(followUp.usage!.input_tokens).toBe(chat.usage!.prompt_tokens);
    expect(followUp.output_text).toBe(chat.choices[0].message.content);
  });

  it("Qwen3's think block becomes a reasoning item, counted in reasoning_tokens", async () => {
    const thinkId = String(((await (await server.post('/tokenize', { prompt: '<think>' })).json()) as { tokens: number[] }).tokens[0]);
    const response = await client.responses.create({ model: 'int4', input: 'Think.', max_output_tokens: 3, ...extras({ logit_bias: { [thinkId]: 100 } }) });
    expect(schemaErrors(response)).toEqual([]);
    expect(response.output[0].type).toBe('reasoning');
    expect(response.output[0].type === 'reasoning' && response.output[0].content?.[0].text).toBe('<think><think>');
    expect(response.output_text).toBe('');
    expect(response.usage!.output_tokens_details.reasoning_tokens).toBe(3);
  });

  /** Checks the event framing every stream shares and returns the events. */
  function checkEvents(events: ResponseStreamEvent[], last: 'response.completed' | 'response.incomplete') {
    for (const event of events) expect(validate('ResponseStreamEvent', event)).toEqual([]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const types = events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', last]);
    expect(types.slice(4, -4).every((t) => t === 'response.output_text.delta')).toBe(true);
    const deltas = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : [])).join('');
    const done = events.find((e) => e.type === 'response.output_text.done');
    expect(done?.type === 'response.output_text.done' && done.text).toBe(deltas);
    const end = events.at(-1)!;
    if (end.type !== last) throw new Error(`ends with ${end.type}`);
    expect(validate('Response', end.response)).toEqual([]);
    const message = end.response.output[0];
    expect(message.type === 'message' && message.content[0].type === 'output_text' && message.content[0].text).toBe(deltas);
    return { deltas, response: end.response };
  }

  it('responses.stream: typed events in order, ending with response.completed whose text is the deltas joined', async () => {
    const stream = client.responses.stream({ model: 'int4', ...extras({ seed: 7 }), input: 'A person, please.', text: { format: { type: 'json_schema', name: 'person', schema: PERSON } }, max_output_tokens: 200 });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const { deltas, response } = checkEvents(events, 'response.completed');
    expect(ajv.validate(PERSON, JSON.parse(deltas))).toBe(true);
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(deltas);
    expect((await client.responses.retrieve(response.id)).output).toEqual(response.output);
  });

  it('create({stream: true}) cut at max_output_tokens ends with response.incomplete; it matches the whole response', async () => {
    const stream = await client.responses.create({ ...greedy, input: 'Tell a story.', instructions: 'Be long.', max_output_tokens: 12, stream: true });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const { deltas, response } = checkEvents(events, 'response.incomplete');
    const whole = await client.responses.create({ ...greedy, input: 'Tell a story.', instructions: 'Be long.', max_output_tokens: 12 });
    expect(deltas).toBe(whole.output_text);
    // The same except cached_tokens: the second request finds the first one's prompt in the prefix cache.
    expect({ ...response.usage, input_tokens_details: null }).toEqual({ ...whole.usage, input_tokens_details: null });
  });

  it('streamed function calls: output_item.added, the arguments delta and done, output_item.done', async () => {
    const stream = await client.responses.create({ model: 'int4', ...extras({ seed: 9 }), input: 'Weather?', tools: [WEATHER], tool_choice: 'required', parallel_tool_calls: false, stream: true, max_output_tokens: 200 });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const done = events[4];
    expect(done.type === 'response.function_call_arguments.done' && ajv.validate(WEATHER.parameters, JSON.parse(done.arguments))).toBe(true);
  });

  it('bad input is a 400 in the OpenAI error envelope naming the field', async () => {
    const cases: [Record<string, unknown>, string | null][] = [
      [{}, 'input'],
      [{ input: [] }, 'input'],
      [{ input: 'x', temperature: 5 }, 'temperature'],
      [{ input: 'x', unknown_field: 1 }, 'unknown_field'],
      [{ input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'x' }] }] }, null],
      [{ input: 'x', tools: [WEATHER], tool_choice: { type: 'function', name: 'nope' } }, 'tool_choice'],
      [{ input: 'x', text: { format: { type: 'json_schema', name: 'n' } } }, 'text.format.schema'],
      [{ input: 'x', previous_response_id: 'resp_missing' }, 'previous_response_id'],
      [{ input: 'x', background: true }, 'background'],
      [{ input: [{ type: 'reasoning', id: 'rs_1', summary: [] }] }, 'input'],
      [{ input: 'x', max_output_tokens: 10_000_000 }, 'max_output_tokens'],
      [{ input: 'x', tools: [WEATHER], text: { format: { type: 'json_object' } } }, 'text.format'],
    ];
    for (const [body, param] of cases) {
      const res = await server.post('/v1/responses', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const error = ((await res.json()) as { error: { message: string; type: string; param: string | null; code: string | null } }).error;
      expect(error.type).toBe('invalid_request_error');
      expect(error.message.length).toBeGreaterThan(0);
      if (param !== null) expect(error.param, JSON.stringify(body)).toBe(param);
    }
    const missing = await fetch(`${server.url}/v1/responses/resp_00000000000000000000000000000000`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('response_not_found');
  });

  it('a batch of /v1/responses lines answers each as the endpoint does, and counts its usage', async () => {
    const bodies = [
      { input: 'Summarize: rent is due monthly.', instructions: 'One line.', max_output_tokens: 5, temperature: 0 },
      { input: 'A person.', text: { format: { type: 'json_schema', name: 'person', schema: PERSON } }, max_output_tokens: 200, temperature: 0 },
    ];
    const lines: InputLine[] = bodies.map((body, i) => ({ custom_id: `r-${i}`, method: 'POST', url: '/v1/responses', body }));
    const file = await uploadBatchFile(client, jsonl(lines));
    const batch = await waitForBatch(client, (await client.batches.create({ input_file_id: file.id, endpoint: '/v1/responses', completion_window: '24h' })).id);
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toEqual({ total: 2, completed: 2, failed: 0 });
    const output = parseOutput(await fileText(client, batch.output_file_id));
    let inputTokens = 0;
    for (const [i, line] of output.entries()) {
      const answered = line.response!.body as unknown as OpenAI.Responses.Response;
      expect(validate('Response', answered)).toEqual([]);
      const direct = await client.responses.create(bodies[i] as OpenAI.Responses.ResponseCreateParamsNonStreaming);
      expect(answered.output).toEqual(direct.output.map((item) => ({ ...item, id: expect.any(String) })));
      inputTokens += answered.usage!.input_tokens;
      // A batch line's response is stored like any other.
      expect((await client.responses.retrieve(answered.id)).id).toBe(answered.id);
    }
    const person = (output[1].response!.body as unknown as OpenAI.Responses.Response).output.find((item) => item.type === 'message');
    const personText = person?.type === 'message' && person.content[0].type === 'output_text' ? person.content[0].text : '';
    expect(ajv.validate(PERSON, JSON.parse(personText)), personText).toBe(true);
    expect(batch.usage?.input_tokens).toBe(inputTokens);
  });

  it('stored responses live in the data directory and survive a restart', async () => {
    const kept = await client.responses.create({ ...greedy, input: 'Remember me.', max_output_tokens: 3 });
    expect(existsSync(join(dataDir, RESPONSES_DATABASE_FILE))).toBe(true);
    await server.handle.close();
    server = await startTestServer({ dataDir });
    client = server.openai();
    expect(await client.responses.retrieve(kept.id)).toEqual(kept);
  });
});
