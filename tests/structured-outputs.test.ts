import { Ajv2020 } from 'ajv/dist/2020.js';
import type OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startTestServer, type TestServer } from './helpers/server.js';

/**
 * Structured outputs through the official client on the tiny random-weights model, whose free
 * text is gibberish: valid JSON can only come from the grammar masking every step. Strings are
 * bounded (maxLength, enums, patterns) because a random model almost never picks the closing
 * quote among 150k allowed tokens, so an unbounded string runs to max_tokens.
 */
const SCHEMAS: Record<string, Record<string, unknown>> = {
  boolean: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'], additionalProperties: false },
  'integer range': { type: 'object', properties: { n: { type: 'integer', minimum: -5, maximum: 120 } }, required: ['n'] },
  'exclusive integer bounds': { type: 'object', properties: { n: { type: 'integer', exclusiveMinimum: 0, exclusiveMaximum: 10 } }, required: ['n'] },
  'number range': { type: 'object', properties: { x: { type: 'number', minimum: 0, maximum: 1 } }, required: ['x'] },
  'string enum': { type: 'object', properties: { colour: { type: 'string', enum: ['red', 'green', 'blue'] } }, required: ['colour'] },
  'mixed enum': { type: 'object', properties: { v: { enum: [1, 'two', null, true] } }, required: ['v'] },
  const: { type: 'object', properties: { kind: { const: 'invoice' }, version: { const: 2 } }, required: ['kind', 'version'] },
  'bounded string': { type: 'object', properties: { code: { type: 'string', minLength: 2, maxLength: 6 } }, required: ['code'] },
  pattern: { type: 'object', properties: { id: { type: 'string', pattern: '^[A-Z]{2}-[0-9]{3}$' } }, required: ['id'] },
  'optional fields': {
    type: 'object',
    properties: { a: { type: 'integer', minimum: 0, maximum: 9 }, b: { type: 'boolean' }, c: { type: 'string', maxLength: 3 } },
    required: ['a'],
  },
  'nullable field': { type: 'object', properties: { note: { type: ['string', 'null'], maxLength: 4 } }, required: ['note'] },
  'array with bounds': {
    type: 'object',
    properties: { xs: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 99 }, minItems: 2, maxItems: 4 } },
    required: ['xs'],
  },
  'fixed-size boolean array': { type: 'array', items: { type: 'boolean' }, minItems: 3, maxItems: 3 },
  tuple: { type: 'array', prefixItems: [{ type: 'string', maxLength: 3 }, { type: 'integer', minimum: 1, maximum: 5 }, { type: 'boolean' }], items: false },
  'array of objects': {
    type: 'object',
    properties: {
      items: {
        type: 'array',
        maxItems: 3,
        items: { type: 'object', properties: { sku: { type: 'string', maxLength: 4 }, qty: { type: 'integer', minimum: 1, maximum: 9 } }, required: ['sku', 'qty'] },
      },
    },
    required: ['items'],
  },
  'nested objects': {
    type: 'object',
    properties: {
      person: {
        type: 'object',
        properties: {
          name: { type: 'string', maxLength: 8 },
          address: { type: 'object', properties: { city: { type: 'string', enum: ['Oslo', 'Lima'] }, zip: { type: 'integer', minimum: 1000, maximum: 9999 } }, required: ['city', 'zip'] },
        },
        required: ['name', 'address'],
      },
    },
    required: ['person'],
  },
  anyOf: { type: 'object', properties: { value: { anyOf: [{ type: 'integer', minimum: 0, maximum: 3 }, { type: 'string', enum: ['none'] }] } }, required: ['value'] },
  'definitions and $ref': {
    type: 'object',
    $defs: { point: { type: 'object', properties: { x: { type: 'integer', minimum: 0, maximum: 9 }, y: { type: 'integer', minimum: 0, maximum: 9 } }, required: ['x', 'y'] } },
    properties: { from: { $ref: '#/$defs/point' }, to: { $ref: '#/$defs/point' } },
    required: ['from', 'to'],
  },
  'top-level enum': { type: 'string', enum: ['approve', 'reject', 'escalate'] },
  'many required fields': {
    type: 'object',
    properties: {
      id: { type: 'integer', minimum: 1, maximum: 999 },
      paid: { type: 'boolean' },
      currency: { enum: ['EUR', 'USD'] },
      lines: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 9 }, maxItems: 2 },
      ref: { type: ['string', 'null'], maxLength: 3 },
    },
    required: ['id', 'paid', 'currency', 'lines', 'ref'],
    additionalProperties: false,
  },
  'bounded array of enums': { type: 'object', properties: { tags: { type: 'array', items: { enum: ['a', 'b', 'c'] }, minItems: 1, maxItems: 5, uniqueItems: false } }, required: ['tags'] },
};

describe('structured outputs (response_format) on the tiny model', () => {
  let server: TestServer;
  let client: OpenAI;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const messages = [{ role: 'user' as const, content: 'Answer in JSON.' }];

  beforeAll(async () => {
    server = await startTestServer();
    client = server.openai();
  });
  afterAll(async () => {
    await server?.handle.close();
  });

  function withSchema(schema: Record<string, unknown>, extra: Record<string, unknown> = {}) {
    return {
      model: 'int4',
      messages,
      max_tokens: 300,
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
      ...extra,
    } as ChatCompletionCreateParamsNonStreaming;
  }

  it.each(Object.entries(SCHEMAS))('answers schema-valid JSON for: %s', async (_name, schema) => {
    const completion = await client.chat.completions.create(withSchema(schema, { seed: 7 }));
    const choice = completion.choices[0];
    expect(choice.finish_reason).toBe('stop');
    const value: unknown = JSON.parse(choice.message.content!);
    const validate = ajv.compile(schema);
    expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
  });

  it('has at least 20 varied schemas', () => {
    expect(Object.keys(SCHEMAS).length).toBeGreaterThanOrEqual(20);
  });

  it("works with the client's chat.completions.parse() and a zod schema", async () => {
    const Verdict = z.object({ verdict: z.enum(['yes', 'no', 'maybe']), score: z.int().min(0).max(10), flags: z.array(z.boolean()).max(3) });
    const completion = await client.chat.completions.parse({
      model: 'int4',
      messages,
      max_tokens: 200,
      response_format: zodResponseFormat(Verdict, 'verdict'),
    });
    const parsed = completion.choices[0].message.parsed;
    expect(parsed).not.toBeNull();
    expect(Verdict.parse(parsed)).toEqual(parsed);
  });

  it('json_object mode answers a JSON object', async () => {
    // A strong pull towards '"' and '}' lets the random model close its strings and the object.
    const tokenOf = async (text: string) => String(((await (await server.post('/tokenize', { prompt: text })).json()) as { tokens: number[] }).tokens[0]);
    const [quote, brace] = [await tokenOf('"'), await tokenOf('}')];
    const completion = await client.chat.completions.create({
      model: 'int4',
      messages,
      max_tokens: 200,
      seed: 3,
      logit_bias: { [quote]: 20, [brace]: 20 },
      response_format: { type: 'json_object' },
    });
    expect(completion.choices[0].finish_reason).toBe('stop');
    const value: unknown = JSON.parse(completion.choices[0].message.content!);
    expect(value !== null && typeof value === 'object' && !Array.isArray(value)).toBe(true);
  });

  it('streams the same JSON as the whole answer for the same seed, and n > 1 choices are each valid', async () => {
    const schema = SCHEMAS['many required fields'];
    const whole = await client.chat.completions.create(withSchema(schema, { seed: 11 }));
    const stream = await client.chat.completions.create({ ...withSchema(schema, { seed: 11 }), stream: true } as unknown as OpenAI.ChatCompletionCreateParamsStreaming);
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(whole.choices[0].message.content);

    const several = await client.chat.completions.create(withSchema(schema, { n: 3, temperature: 1 }));
    const validate = ajv.compile(schema);
    expect(several.choices).toHaveLength(3);
    for (const choice of several.choices) expect(validate(JSON.parse(choice.message.content!)), choice.message.content!).toBe(true);
  });

  it('answers a schema the grammar engine cannot enforce with a 400 naming the part', async () => {
    const response = await server.post('/v1/chat/completions', {
      messages,
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'x', schema: { type: 'object', properties: { a: { type: 'object', properties: { b: { type: 'string', pattern: '(?<=x)y' } } } } } },
      },
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { param: string; code: string; message: string } };
    expect(body.error.code).toBe('unsupported_schema');
    expect(body.error.param).toBe('response_format.json_schema.schema.properties.a.properties.b');
    expect(body.error.message).toMatch(/Lookbehind/);
  });

  it('refuses settings that fight the grammar, and a malformed response_format', async () => {
    const withMinTokens = await server.post('/v1/chat/completions', { messages, min_tokens: 3, response_format: { type: 'json_object' } });
    expect(withMinTokens.status).toBe(400);
    expect(((await withMinTokens.json()) as { error: { param: string } }).error.param).toBe('min_tokens');
    const unknownType = await server.post('/v1/chat/completions', { messages, response_format: { type: 'yaml' } });
    expect(unknownType.status).toBe(400);
    expect(((await unknownType.json()) as { error: { param: string } }).error.param).toMatch(/^response_format/);
  });
});
