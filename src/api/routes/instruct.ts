import type { Hono } from 'hono';
import type { EngineEvent } from '../../engine/generation.js';
import type { ChatMessageInput } from '../chat/chat-messages.js';
import { renderChat } from '../chat/render-chat.js';
import { publicFinishReason } from '../generation/collect-choices.js';
import { generationStream } from '../generation/generation-stream.js';
import { planGeneration } from '../generation/plan.js';
import { startGeneration } from '../generation/start-generation.js';
import { streamResponse } from '../generation/stream-response.js';
import { usageBody } from '../generation/usage.js';
import type { AppEnv } from '../http/app-env.js';
import type { Exchange } from '../http/exchange.js';
import { InstructRequest } from '../schemas/instruct.js';
import { parseJsonBody } from '../validation/parse-body.js';
import type { RouteOptions } from './route-options.js';
import { checkModelName } from './served-model.js';

export const NDJSON_CONTENT_TYPE = 'application/x-ndjson; charset=utf-8';

/**
 * POST /v1/qwen3/instruct: the lean stream. Each line is one JSON value: a string is the next
 * piece of text; the last line is an object with the finish reason and usage (or an error).
 * No ids, timestamps or envelopes per token: the request's id is the X-Request-Id header.
 */
export function registerInstruct(app: Hono<AppEnv>, options: RouteOptions): void {
  app.post('/v1/qwen3/instruct', async (c) => {
    const model = options.state.acceptWork();
    const body = await parseJsonBody(c.req.raw, InstructRequest);
    checkModelName(model, body.model);
    const exchange = c.get('exchange');
    const conversation: ChatMessageInput[] = [
      ...(body.system !== undefined ? [{ role: 'system', content: body.system }] : []),
      ...(body.messages ?? [{ role: 'user', content: body.prompt ?? '' }]),
    ];
    const rendered = await renderChat(model.prompts, conversation, { enableThinking: body.enable_thinking });
    if (options.logPrompts) exchange.prompt = rendered.text;
    const request = planGeneration(model, {
      promptTokenIds: rendered.tokenIds,
      promptParam: body.messages ? 'messages' : 'prompt',
      maxTokens: body.max_tokens,
      stop: body.stop,
      sampling: body,
    });
    exchange.promptTokens = request.promptTokenIds.length;
    const { events, abort } = startGeneration(model, request, c.req.raw.signal, options.requestTimeoutSeconds);
    return streamResponse({ exchange, abort, contentType: NDJSON_CONTENT_TYPE, body: instructLines(events, exchange, abort.signal, options.logPrompts) });
  });
}

async function* instructLines(events: AsyncIterable<EngineEvent>, exchange: Exchange, clientGone: AbortSignal, logPrompts: boolean): AsyncGenerator<string, void, undefined> {
  let output = '';
  let finishReason: 'stop' | 'length' | undefined;
  try {
    yield* generationStream(events, exchange, clientGone, {
      delta: (delta) => {
        if (delta.finishReason !== undefined) finishReason = publicFinishReason(delta.finishReason);
        if (delta.text === '') return null;
        if (logPrompts) output += delta.text;
        return `${JSON.stringify(delta.text)}\n`;
      },
      done: (event) => [`${JSON.stringify({ finish_reason: finishReason ?? publicFinishReason(event.finishReasons[0]), usage: usageBody(event.usage) })}\n`],
      error: (error) => [`${JSON.stringify(error.toBody())}\n`],
    });
  } finally {
    if (logPrompts) exchange.output = output;
  }
}
