import type OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiValidator, startTestServer, type TestServer } from './helpers/server.js';

/**
 * Reasoning content through the official client. The tiny random model never opens a think block
 * by itself, so `logit_bias` makes `<think>` its every token: the output is a block cut off
 * while reasoning, which must all be reasoning_content (and reasoning tokens), never content.
 */
type ReasoningMessage = OpenAI.ChatCompletionMessage & { reasoning_content?: string };
type ReasoningDelta = OpenAI.ChatCompletionChunk.Choice.Delta & { reasoning_content?: string };
type ReasoningUsage = OpenAI.CompletionUsage & { completion_tokens_details?: { reasoning_tokens?: number } };

describe('reasoning content on the tiny model', () => {
  let server: TestServer;
  let client: OpenAI;
  let thinkId: string;
  const validate = openApiValidator();
  const messages = [{ role: 'user' as const, content: 'Think, then answer.' }];

  beforeAll(async () => {
    server = await startTestServer();
    client = server.openai();
    thinkId = String(((await (await server.post('/tokenize', { prompt: '<think>' })).json()) as { tokens: number[] }).tokens[0]);
  });
  afterAll(async () => {
    await server?.handle.close();
  });

  const thinking = (extra: Record<string, unknown> = {}) =>
    ({ model: 'int4', messages, max_tokens: 3, logit_bias: { [thinkId]: 100 }, ...extra }) as ChatCompletionCreateParamsNonStreaming;

  it('a think block goes to reasoning_content and its tokens to reasoning_tokens, whole and streamed', async () => {
    const whole = await client.chat.completions.create(thinking());
    expect(validate('ChatCompletion', whole)).toEqual([]);
    const message = whole.choices[0].message as ReasoningMessage;
    expect(message.reasoning_content).toBe('<think><think>');
    expect(message.content).toBe('');
    expect((whole.usage as ReasoningUsage).completion_tokens_details?.reasoning_tokens).toBe(3);

    const stream = await client.chat.completions.create({ ...thinking(), stream: true, stream_options: { include_usage: true } });
    let reasoning = '';
    let content = '';
    let usage: ReasoningUsage | undefined;
    for await (const chunk of stream) {
      expect(validate('ChatCompletionChunk', chunk)).toEqual([]);
      const delta = chunk.choices[0]?.delta as ReasoningDelta | undefined;
      reasoning += delta?.reasoning_content ?? '';
      content += delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage as ReasoningUsage;
    }
    expect(reasoning).toBe('<think><think>');
    expect(content).toBe('');
    expect(usage?.completion_tokens_details?.reasoning_tokens).toBe(3);
  });

  it('an answer without a block (enable_thinking false) is all content, with no reasoning fields', async () => {
    const plain = await client.chat.completions.create({ model: 'int4', messages, max_tokens: 5, chat_template_kwargs: { enable_thinking: false } } as ChatCompletionCreateParamsNonStreaming);
    const message = plain.choices[0].message as ReasoningMessage;
    expect(message.reasoning_content).toBeUndefined();
    expect(typeof message.content).toBe('string');
    expect((plain.usage as ReasoningUsage).completion_tokens_details?.reasoning_tokens).toBe(0);
  });
});
