import { Ajv2020 } from 'ajv/dist/2020.js';
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiValidator, startTestServer, type TestServer } from './helpers/server.js';

/**
 * Function calling through the official client on the tiny random-weights model: forced calls
 * (`required`, a named function) are valid calls of the offered schemas by construction, whole
 * and streamed; the history of a tool loop (assistant tool_calls, `tool` results) renders; the
 * SDK's runTools helper completes its loop.
 */
const WEATHER: OpenAI.ChatCompletionFunctionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', enum: ['Oslo', 'Lima', 'Pune'] }, days: { type: 'integer', minimum: 1, maximum: 7 } },
      required: ['city', 'days'],
      additionalProperties: false,
    },
  },
};
const CONVERT: OpenAI.ChatCompletionFunctionTool = {
  type: 'function',
  function: {
    name: 'convert',
    parameters: { type: 'object', properties: { amount: { type: 'integer', minimum: 0, maximum: 999 }, to: { enum: ['EUR', 'USD'] } }, required: ['amount', 'to'] },
  },
};
const TOOLS = [WEATHER, CONVERT];

describe('tool calls on the tiny model', () => {
  let server: TestServer;
  let client: OpenAI;
  const ajv = new Ajv2020({ strict: false });
  const validate = openApiValidator();
  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Oslo this week?' }];

  beforeAll(async () => {
    server = await startTestServer();
    client = server.openai();
  });
  afterAll(async () => {
    await server?.handle.close();
  });

  function expectValidCall(call: OpenAI.ChatCompletionMessageToolCall, names: string[]) {
    expect(call.type).toBe('function');
    if (call.type !== 'function') return;
    expect(call.id).toMatch(/^call_/);
    expect(names).toContain(call.function.name);
    const tool = TOOLS.find((t) => t.function.name === call.function.name)!;
    const args: unknown = JSON.parse(call.function.arguments);
    expect(ajv.validate(tool.function.parameters!, args), call.function.arguments).toBe(true);
  }

  it("tool_choice 'required' answers valid calls with finish_reason tool_calls", async () => {
    const completion = await client.chat.completions.create({ model: 'int4', messages, tools: TOOLS, tool_choice: 'required', max_tokens: 200, seed: 1 });
    expect(validate('ChatCompletion', completion)).toEqual([]);
    const choice = completion.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls!.length).toBeGreaterThanOrEqual(1);
    for (const call of choice.message.tool_calls!) expectValidCall(call, ['get_weather', 'convert']);
  });

  it('a named function is exactly one call of that function; parallel_tool_calls false keeps it to one', async () => {
    const named = await client.chat.completions.create({
      model: 'int4',
      messages,
      tools: TOOLS,
      tool_choice: { type: 'function', function: { name: 'convert' } },
      max_tokens: 200,
    });
    expect(named.choices[0].message.tool_calls).toHaveLength(1);
    expectValidCall(named.choices[0].message.tool_calls![0], ['convert']);
    const single = await client.chat.completions.create({ model: 'int4', messages, tools: TOOLS, tool_choice: 'required', parallel_tool_calls: false, max_tokens: 200, seed: 5 });
    expect(single.choices[0].message.tool_calls).toHaveLength(1);
  });

  it('streams delta.tool_calls as OpenAI does: index, id and name first, then the arguments', async () => {
    const whole = await client.chat.completions.create({ model: 'int4', messages, tools: TOOLS, tool_choice: 'required', max_tokens: 200, seed: 9 });
    const stream = await client.chat.completions.create({ model: 'int4', messages, tools: TOOLS, tool_choice: 'required', max_tokens: 200, seed: 9, stream: true });
    const calls: { id?: string; name?: string; arguments: string }[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      expect(validate('ChatCompletionChunk', chunk)).toEqual([]);
      const choice = chunk.choices[0];
      if (!choice) continue;
      for (const part of choice.delta.tool_calls ?? []) {
        if (part.id !== undefined) {
          expect(part.index).toBe(calls.length);
          expect(part.function?.name).toBeDefined();
          calls.push({ id: part.id, name: part.function!.name, arguments: part.function!.arguments ?? '' });
        } else {
          calls[part.index].arguments += part.function?.arguments ?? '';
        }
      }
      finish = choice.finish_reason ?? finish;
    }
    expect(finish).toBe('tool_calls');
    const expected = whole.choices[0].message.tool_calls!.map((call) => (call.type === 'function' ? { name: call.function.name, arguments: call.function.arguments } : null));
    expect(calls.map(({ name, arguments: args }) => ({ name, arguments: args }))).toEqual(expected);
    // The SDK's own stream helper assembles the same calls.
    const runner = client.chat.completions.stream({ model: 'int4', messages, tools: TOOLS, tool_choice: 'required', max_tokens: 200, seed: 9 });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0].message.tool_calls!.map((call) => (call.type === 'function' ? call.function.name : ''))).toEqual(expected.map((c) => c!.name));
  });

  it('a manual tool loop: the call and its result go back in the history, and the model answers', async () => {
    const first = await client.chat.completions.create({ model: 'int4', messages, tools: TOOLS, tool_choice: 'required', parallel_tool_calls: false, max_tokens: 200 });
    const call = first.choices[0].message.tool_calls![0];
    const history: OpenAI.ChatCompletionMessageParam[] = [
      ...messages,
      first.choices[0].message as OpenAI.ChatCompletionAssistantMessageParam,
      { role: 'tool', tool_call_id: call.id, content: JSON.stringify({ forecast: 'sunny', high: 21 }) },
    ];
    const answer = await client.chat.completions.create({ model: 'int4', messages: history, tools: TOOLS, tool_choice: 'none', max_tokens: 8 });
    expect(answer.choices[0].message.tool_calls).toBeUndefined();
    expect(typeof answer.choices[0].message.content).toBe('string');
    // The history costs prompt tokens: the call and its result were rendered into the prompt.
    const bare = await client.chat.completions.create({ model: 'int4', messages, max_tokens: 1 });
    expect(answer.usage!.prompt_tokens).toBeGreaterThan(bare.usage!.prompt_tokens + 20);
  });

  it("the SDK's runTools runs the forced function with the parsed arguments and finishes", async () => {
    const seen: unknown[] = [];
    const runner = client.chat.completions.runTools({
      model: 'int4',
      messages,
      max_tokens: 200,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'The weather in a city',
            parameters: WEATHER.function.parameters!,
            parse: (text: string) => JSON.parse(text) as { city: string; days: number },
            function: (args: { city: string; days: number }) => {
              seen.push(args);
              return { forecast: 'rain', city: args.city };
            },
          },
        },
      ],
    });
    await runner.done();
    expect(seen).toHaveLength(1);
    expect(ajv.validate(WEATHER.function.parameters!, seen[0])).toBe(true);
    const toolMessages = runner.messages.filter((m) => m.role === 'tool');
    expect(toolMessages).toHaveLength(1);
  });

  it('auto lets the model answer in text; bad tool_choice values are 400s naming the field', async () => {
    const auto = await client.chat.completions.create({ model: 'int4', messages, tools: TOOLS, max_tokens: 6, seed: 2 });
    expect(['stop', 'length', 'tool_calls']).toContain(auto.choices[0].finish_reason);
    const unknown = await server.post('/v1/chat/completions', { messages, tools: TOOLS, tool_choice: { type: 'function', function: { name: 'nope' } } });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { param: string } }).error.param).toBe('tool_choice');
    const noTools = await server.post('/v1/chat/completions', { messages, tool_choice: 'required' });
    expect(noTools.status).toBe(400);
  });
});
