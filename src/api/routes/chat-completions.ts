import type { Hono } from 'hono';
import { invalidParam } from '../../errors.js';
import type { EngineEvent, GenerationRequest } from '../../engine/generation.js';
import { checkGrammarSpec } from '../../engine/constraints/grammar-check.js';
import { renderChat } from '../chat/render-chat.js';
import { responseFormatGrammar } from '../structured-output/response-format-grammar.js';
import { collectChoices, publicFinishReason } from '../generation/collect-choices.js';
import { generationStream } from '../generation/generation-stream.js';
import { chatLogprobContent } from '../generation/logprobs.js';
import { planGeneration } from '../generation/plan.js';
import { SSE_CONTENT_TYPE, SSE_DONE, sseEvent } from '../generation/sse.js';
import { usageBody } from '../generation/usage.js';
import { startGeneration } from '../generation/start-generation.js';
import { streamResponse } from '../generation/stream-response.js';
import type { AppEnv } from '../http/app-env.js';
import type { Exchange } from '../http/exchange.js';
import { ChatCompletionRequest, type ChatCompletion, type ChatCompletionChunk } from '../schemas/chat.js';
import type { ServedModel } from '../serving-state.js';
import { parseJsonBody } from '../validation/parse-body.js';
import type { RouteOptions } from './route-options.js';
import { checkModelName, unixSeconds } from './served-model.js';

/** POST /v1/chat/completions: OpenAI's chat API, whole or streamed as server-sent events. */
export function registerChatCompletions(app: Hono<AppEnv>, options: RouteOptions): void {
  app.post('/v1/chat/completions', async (c) => {
    const model = options.state.acceptWork();
    const body = await parseJsonBody(c.req.raw, ChatCompletionRequest);
    checkModelName(model, body.model);
    if (body.stream_options && !body.stream) throw invalidParam('stream_options', 'stream_options is only allowed when stream is true');
    const exchange = c.get('exchange');
    const grammar = responseFormatGrammar(body.response_format);
    if (grammar) await checkGrammarSpec(grammar, 'response_format.json_schema.schema');
    // A constrained answer starts with its first JSON token, so Qwen3's thinking block is left
    // out unless the client asked for it.
    const enableThinking = body.chat_template_kwargs?.enable_thinking ?? (grammar ? false : undefined);
    const rendered = renderChat(model.tokenizer, body.messages, { enableThinking });
    if (options.logPrompts) exchange.prompt = rendered.text;
    const request = planGeneration(model, {
      promptTokenIds: rendered.tokenIds,
      promptParam: 'messages',
      maxTokens: body.max_completion_tokens ?? body.max_tokens,
      n: body.n,
      stop: body.stop,
      sampling: body,
      priority: c.env?.priority,
      grammar,
      grammarParam: 'response_format',
    });
    exchange.promptTokens = request.promptTokenIds.length;
    const { events, abort } = startGeneration(model, request, c.req.raw.signal, options.requestTimeoutSeconds);
    const reply = { id: `chatcmpl-${request.id}`, created: unixSeconds(), model: model.name };
    if (!body.stream) return c.json(await wholeCompletion(model, request, events, exchange, reply, options.logPrompts));
    const stream = chatStream(model, request, events, exchange, abort.signal, {
      ...reply,
      includeUsage: body.stream_options?.include_usage ?? false,
      logPrompts: options.logPrompts,
    });
    return streamResponse({ exchange, abort, contentType: SSE_CONTENT_TYPE, body: stream });
  });
}

interface Reply {
  id: string;
  created: number;
  model: string;
}

async function wholeCompletion(
  model: ServedModel,
  request: GenerationRequest,
  events: AsyncIterable<EngineEvent>,
  exchange: Exchange,
  reply: Reply,
  logPrompts: boolean,
): Promise<ChatCompletion> {
  const { choices, usage } = await collectChoices(events, request.n, exchange);
  if (logPrompts) exchange.output = choices.map((choice) => choice.text).join('\n---\n');
  return {
    id: reply.id,
    object: 'chat.completion',
    created: reply.created,
    model: reply.model,
    choices: choices.map((choice, index) => ({
      index,
      message: { role: 'assistant', content: choice.text },
      logprobs: choice.logprobs ? { content: chatLogprobContent(model.tokenizer, choice.logprobs), refusal: null } : null,
      finish_reason: choice.finishReason,
      stop_reason: choice.stopReason,
    })),
    usage: usageBody(usage),
  };
}

/**
 * The chunks of a streamed chat completion, OpenAI's framing: per choice first a chunk with the
 * role, then content deltas (held-back text sends nothing unless logprobs are due), the finish
 * reason with the choice's last content, the usage chunk (`choices: []`) if asked, `[DONE]`.
 * A failure after the headers went out is sent as an error event before `[DONE]`, as vLLM does.
 */
async function* chatStream(
  model: ServedModel,
  request: GenerationRequest,
  events: AsyncIterable<EngineEvent>,
  exchange: Exchange,
  clientGone: AbortSignal,
  options: Reply & { includeUsage: boolean; logPrompts: boolean },
): AsyncGenerator<string, void, undefined> {
  const base = { id: options.id, object: 'chat.completion.chunk' as const, created: options.created, model: options.model };
  // With include_usage every chunk carries `usage: null` until the last one (OpenAI's framing).
  const usageField = options.includeUsage ? { usage: null } : {};
  const chunk = (choices: ChatCompletionChunk['choices']): string => sseEvent({ ...base, choices, ...usageField });
  const outputs = options.logPrompts ? Array.from({ length: request.n }, () => '') : null;
  try {
    for (let index = 0; index < request.n; index++) {
      yield chunk([{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
    }
    yield* generationStream(events, exchange, clientGone, {
      delta: (delta) => {
        const finishing = delta.finishReason !== undefined;
        const logprobs = delta.logprobs && delta.logprobs.length > 0 ? { content: chatLogprobContent(model.tokenizer, delta.logprobs), refusal: null } : null;
        if (delta.text === '' && logprobs === null && !finishing) return null;
        if (outputs) outputs[delta.choice] += delta.text;
        return chunk([
          {
            index: delta.choice,
            delta: delta.text === '' ? {} : { content: delta.text },
            logprobs,
            finish_reason: finishing ? publicFinishReason(delta.finishReason) : null,
            ...(finishing ? { stop_reason: delta.stopReason ?? null } : {}),
          },
        ]);
      },
      done: (event) => [...(options.includeUsage ? [sseEvent({ ...base, choices: [], usage: usageBody(event.usage) })] : []), SSE_DONE],
      error: (error) => [sseEvent(error.toBody()), SSE_DONE],
    });
  } finally {
    if (outputs) exchange.output = outputs.join('\n---\n');
  }
}
