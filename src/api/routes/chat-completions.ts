import type { Hono } from 'hono';
import { invalidParam } from '../../errors.js';
import type { EngineEvent, GenerationRequest } from '../../engine/generation.js';
import { checkGrammarSpec } from '../../engine/constraints/grammar-check.js';
import { assistantMessage, streamDeltas } from '../chat/chat-message-out.js';
import { planChatOutput, type ChatOutputPlan } from '../chat/chat-request-plan.js';
import { renderChat } from '../chat/render-chat.js';
import { ChatOutputParser } from '../output-parsers/chat-output.js';
import { reasoningTokenCount, THINK_END, THINK_START } from '../output-parsers/reasoning-parser.js';
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
    const plan = await planChatOutput(body);
    if (plan.grammar) await checkGrammarSpec(plan.grammar, plan.grammarParam === 'response_format' ? 'response_format.json_schema.schema' : 'tools');
    const rendered = await renderChat(model.prompts, body.messages, { enableThinking: plan.enableThinking, tools: plan.tools });
    if (options.logPrompts) exchange.prompt = rendered.text;
    const request = planGeneration(model, {
      promptTokenIds: rendered.tokenIds,
      promptParam: 'messages',
      maxTokens: body.max_completion_tokens ?? body.max_tokens,
      n: body.n,
      stop: body.stop,
      sampling: body,
      priority: c.env?.priority,
      grammar: plan.grammar,
      grammarParam: plan.grammarParam,
    });
    exchange.promptTokens = request.promptTokenIds.length;
    const { events, abort } = startGeneration(model, request, c.req.raw.signal, options.requestTimeoutSeconds);
    const output: OutputOptions = {
      promptOpensReasoning: rendered.text.trimEnd().endsWith(THINK_START),
      parseToolCalls: plan.parseToolCalls,
      thinkEndId: model.tokenizer.tokenId(THINK_END),
    };
    const reply = { id: `chatcmpl-${request.id}`, created: unixSeconds(), model: model.name };
    if (!body.stream) return c.json(await wholeCompletion(model, request, events, exchange, reply, options.logPrompts, output));
    const stream = chatStream(model, request, events, exchange, abort.signal, output, {
      ...reply,
      includeUsage: body.stream_options?.include_usage ?? false,
      logPrompts: options.logPrompts,
    });
    return streamResponse({ exchange, abort, contentType: SSE_CONTENT_TYPE, body: stream });
  });
}

/** How each choice's text becomes message fields (see ChatOutputParser). */
interface OutputOptions {
  promptOpensReasoning: boolean;
  parseToolCalls: ChatOutputPlan['parseToolCalls'];
  /** The `</think>` token, for usage's reasoning_tokens; undefined if the vocabulary lacks it. */
  thinkEndId: number | undefined;
}

/** A choice that stopped on its own after writing calls ends with `tool_calls`, as OpenAI's do. */
function chatFinishReason(reason: 'stop' | 'length', calls: number): 'stop' | 'length' | 'tool_calls' {
  return reason === 'stop' && calls > 0 ? 'tool_calls' : reason;
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
  output: OutputOptions,
): Promise<ChatCompletion> {
  const { choices, usage } = await collectChoices(events, request.n, exchange);
  if (logPrompts) exchange.output = choices.map((choice) => choice.text).join('\n---\n');
  let reasoningTokens = 0;
  const parsed = choices.map((choice) => {
    const parser = new ChatOutputParser(output);
    const first = parser.push(choice.text);
    const last = parser.finish();
    reasoningTokens += reasoningTokenCount(choice.tokenIds, parser.reasoningParser, output.thinkEndId);
    const whole = { reasoning: first.reasoning + last.reasoning, content: first.content + last.content, calls: [...first.calls, ...last.calls] };
    return { message: assistantMessage(whole, parser.hasReasoning), calls: whole.calls.length };
  });
  return {
    id: reply.id,
    object: 'chat.completion',
    created: reply.created,
    model: reply.model,
    choices: choices.map((choice, index) => ({
      index,
      message: parsed[index].message,
      logprobs: choice.logprobs ? { content: chatLogprobContent(model.tokenizer, choice.logprobs), refusal: null } : null,
      finish_reason: chatFinishReason(choice.finishReason, parsed[index].calls),
      stop_reason: choice.stopReason,
    })),
    usage: { ...usageBody(usage), completion_tokens_details: { reasoning_tokens: reasoningTokens } },
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
  output: OutputOptions,
  options: Reply & { includeUsage: boolean; logPrompts: boolean },
): AsyncGenerator<string, void, undefined> {
  const base = { id: options.id, object: 'chat.completion.chunk' as const, created: options.created, model: options.model };
  // With include_usage every chunk carries `usage: null` until the last one (OpenAI's framing).
  const usageField = options.includeUsage ? { usage: null } : {};
  const chunk = (choices: ChatCompletionChunk['choices']): string => sseEvent({ ...base, choices, ...usageField });
  const outputs = options.logPrompts ? Array.from({ length: request.n }, () => '') : null;
  const parsers = Array.from({ length: request.n }, () => new ChatOutputParser(output));
  const tokenIds = Array.from({ length: request.n }, (): number[] => []);
  try {
    for (let index = 0; index < request.n; index++) {
      yield chunk([{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
    }
    yield* generationStream(events, exchange, clientGone, {
      delta: (delta) => {
        const finishing = delta.finishReason !== undefined;
        const logprobs = delta.logprobs && delta.logprobs.length > 0 ? { content: chatLogprobContent(model.tokenizer, delta.logprobs), refusal: null } : null;
        if (outputs) outputs[delta.choice] += delta.text;
        tokenIds[delta.choice].push(...delta.tokenIds);
        const parser = parsers[delta.choice];
        const deltas = streamDeltas(parser.push(delta.text));
        if (finishing) deltas.push(...streamDeltas(parser.finish()));
        if (deltas.length === 0 && (logprobs !== null || finishing)) deltas.push({});
        if (deltas.length === 0) return null;
        // Logprobs ride on the first chunk of their delta; the finish reason on the last.
        return deltas
          .map((part, i) => {
            const last = finishing && i === deltas.length - 1;
            return chunk([
              {
                index: delta.choice,
                delta: part,
                logprobs: i === 0 ? logprobs : null,
                finish_reason: last ? chatFinishReason(publicFinishReason(delta.finishReason), parser.callCount) : null,
                ...(last ? { stop_reason: delta.stopReason ?? null } : {}),
              },
            ]);
          })
          .join('');
      },
      done: (event) => {
        const reasoningTokens = parsers.reduce((sum, parser, i) => sum + reasoningTokenCount(tokenIds[i], parser.reasoningParser, output.thinkEndId), 0);
        const usage = { ...usageBody(event.usage), completion_tokens_details: { reasoning_tokens: reasoningTokens } };
        return [...(options.includeUsage ? [sseEvent({ ...base, choices: [], usage })] : []), SSE_DONE];
      },
      error: (error) => [sseEvent(error.toBody()), SSE_DONE],
    });
  } finally {
    if (outputs) exchange.output = outputs.join('\n---\n');
  }
}
