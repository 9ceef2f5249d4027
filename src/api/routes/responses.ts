import type { Hono } from 'hono';
import { invalidParam, ServeError } from '../../errors.js';
import type { EngineEvent, GenerationRequest } from '../../engine/generation.js';
import { checkGrammarSpec } from '../../engine/constraints/grammar-check.js';
import type { ChatMessageInput } from '../chat/chat-messages.js';
import { planChatOutput } from '../chat/chat-request-plan.js';
import { renderChat } from '../chat/render-chat.js';
import { collectChoices, publicFinishReason } from '../generation/collect-choices.js';
import { generationStream } from '../generation/generation-stream.js';
import { planGeneration } from '../generation/plan.js';
import { SSE_CONTENT_TYPE } from '../generation/sse.js';
import { startGeneration } from '../generation/start-generation.js';
import { streamResponse } from '../generation/stream-response.js';
import type { AppEnv } from '../http/app-env.js';
import type { Exchange } from '../http/exchange.js';
import { ChatOutputParser } from '../output-parsers/chat-output.js';
import { reasoningTokenCount, THINK_END, THINK_START } from '../output-parsers/reasoning-parser.js';
import { chatOutputFields } from '../responses/response-chat-fields.js';
import { inputMessages, outputMessages } from '../responses/response-conversation.js';
import { finishedResponse, responseSkeleton } from '../responses/response-object.js';
import { ResponseOutputBuilder, type ResponseEventBody } from '../responses/response-output.js';
import type { ResponseStore } from '../responses/response-store.js';
import { ResponseCreateRequest, type ResponseObject } from '../schemas/responses.js';
import type { ServedModel } from '../serving-state.js';
import { parseJsonBody } from '../validation/parse-body.js';
import type { RouteOptions } from './route-options.js';
import { checkModelName, unixSeconds } from './served-model.js';

/**
 * POST /v1/responses (OpenAI's Responses API, whole or streamed as typed events) and
 * GET and DELETE /v1/responses/{id}. A request is served by the chat machinery: its conversation (a stored
 * one first, for previous_response_id) is rendered by the chat template with its tools, its
 * output parsed into reasoning, text and function calls, which become the response's items.
 */
export function registerResponses(app: Hono<AppEnv>, options: RouteOptions): void {
  app.post('/v1/responses', async (c) => {
    const model = options.state.acceptWork();
    const body = await parseJsonBody(c.req.raw, ResponseCreateRequest);
    checkModelName(model, body.model);
    const exchange = c.get('exchange');
    const history = [...previousConversation(options.responses, body.previous_response_id), ...inputMessages(body.input)];
    // Reasoning items alone render nothing: without a message or call there is no conversation to answer.
    if (history.length === 0) throw invalidParam('input', 'input holds no message, function call or function output');
    // Instructions are this request's system prompt only; a continued conversation does not keep them (OpenAI's rule).
    const messages: ChatMessageInput[] = body.instructions ? [{ role: 'system', content: body.instructions }, ...history] : history;
    const plan = await planChatOutput(chatOutputFields(body), 'text.format');
    if (plan.grammar) await checkGrammarSpec(plan.grammar, plan.grammarParam === 'response_format' ? 'text.format.schema' : 'tools');
    const rendered = await renderChat(model.prompts, messages, { enableThinking: plan.enableThinking, tools: plan.tools });
    if (options.logPrompts) exchange.prompt = rendered.text;
    const request = planGeneration(model, {
      promptTokenIds: rendered.tokenIds,
      promptParam: 'input',
      maxTokens: body.max_output_tokens,
      maxTokensParam: 'max_output_tokens',
      n: 1,
      sampling: body,
      priority: c.env?.priority,
      grammar: plan.grammar,
      grammarParam: plan.grammarParam === 'response_format' ? 'text.format' : 'tools',
    });
    exchange.promptTokens = request.promptTokenIds.length;
    const { events, abort } = startGeneration(model, request, c.req.raw.signal, options.requestTimeoutSeconds);
    const run: ResponseRun = {
      skeleton: responseSkeleton(`resp_${request.id.replaceAll('-', '')}`, unixSeconds(), model.name, body),
      parser: new ChatOutputParser({ promptOpensReasoning: rendered.text.trimEnd().endsWith(THINK_START), parseToolCalls: plan.parseToolCalls }),
      builder: new ResponseOutputBuilder(),
      thinkEndId: model.tokenizer.tokenId(THINK_END),
      // Kept only when the client did not opt out; the conversation omits the instructions, as continuing it does.
      keep: body.store === false ? null : (response) => options.responses.save({ response, conversation: [...history, ...outputMessages(response.output)] }),
    };
    if (!body.stream) return c.json(await wholeResponse(run, request, events, exchange, options.logPrompts));
    return streamResponse({ exchange, abort, contentType: SSE_CONTENT_TYPE, body: responseEvents(run, events, exchange, abort.signal, options.logPrompts) });
  });

  app.get('/v1/responses/:id', (c) => {
    const stored = options.responses.get(c.req.param('id'));
    if (!stored) throw responseNotFound(c.req.param('id'), 'id');
    return c.json(stored.response);
  });

  app.delete('/v1/responses/:id', (c) => {
    const id = c.req.param('id');
    if (!options.responses.delete(id)) throw responseNotFound(id, 'id');
    return c.json({ id, object: 'response.deleted' as const, deleted: true });
  });
}

/** One request's output under construction. */
interface ResponseRun {
  skeleton: ResponseObject;
  parser: ChatOutputParser;
  builder: ResponseOutputBuilder;
  /** The `</think>` token, for usage's reasoning_tokens; undefined if the vocabulary lacks it. */
  thinkEndId: number | undefined;
  /** Stores the finished response; null with `store: false`. */
  keep: ((response: ResponseObject) => void) | null;
}

function previousConversation(store: ResponseStore, id: string | null | undefined): ChatMessageInput[] {
  if (id === null || id === undefined) return [];
  const stored = store.get(id);
  if (!stored) throw responseNotFound(id, 'previous_response_id');
  return stored.conversation;
}

function responseNotFound(id: string, param: string): ServeError {
  // The id is echoed only when it looks like one of ours: error messages are logged, request content is not.
  const shown = /^resp_[0-9a-f]{32}$/.test(id) ? ` '${id}'` : '';
  if (param === 'previous_response_id') return invalidParam(param, `no stored response has the id${shown} (responses created with store: false are not kept)`, 'previous_response_not_found');
  return new ServeError('not_found_error', `no stored response has the id${shown}`, { param, code: 'response_not_found' });
}

async function wholeResponse(run: ResponseRun, request: GenerationRequest, events: AsyncIterable<EngineEvent>, exchange: Exchange, logPrompts: boolean): Promise<ResponseObject> {
  const { choices, usage } = await collectChoices(events, request.n, exchange);
  const [choice] = choices;
  if (logPrompts) exchange.output = choice.text;
  run.builder.push(run.parser.push(choice.text));
  run.builder.push(run.parser.finish());
  run.builder.finish(choice.finishReason === 'length' ? 'incomplete' : 'completed');
  const reasoningTokens = reasoningTokenCount(choice.tokenIds, run.parser.reasoningParser, run.thinkEndId);
  const response = finishedResponse(run.skeleton, run.builder.items, choice.finishReason, usage, reasoningTokens);
  run.keep?.(response);
  return response;
}

/**
 * The typed events of a streamed response, OpenAI's framing: `event: <type>` and `data: <json>`
 * per event, sequence_number counting from 0, response.created and response.in_progress first,
 * the items' events as the text arrives, then response.completed (response.incomplete when cut
 * at the token limit) with the whole response. A failure after the headers is an `error` event.
 * No `[DONE]`: OpenAI's responses stream ends with its last event.
 */
async function* responseEvents(
  run: ResponseRun,
  events: AsyncIterable<EngineEvent>,
  exchange: Exchange,
  clientGone: AbortSignal,
  logPrompts: boolean,
): AsyncGenerator<string, void, undefined> {
  let sequence = 0;
  const frame = (event: ResponseEventBody) => `event: ${event.type}\ndata: ${JSON.stringify({ ...event, sequence_number: sequence++ })}\n\n`;
  const frames = (list: ResponseEventBody[]) => (list.length === 0 ? null : list.map(frame).join(''));
  const tokenIds: number[] = [];
  let text = '';
  let finish: 'stop' | 'length' = 'stop';
  yield frame({ type: 'response.created', response: run.skeleton });
  yield frame({ type: 'response.in_progress', response: run.skeleton });
  try {
    yield* generationStream(events, exchange, clientGone, {
      delta: (delta) => {
        tokenIds.push(...delta.tokenIds);
        text += delta.text;
        const list = run.builder.push(run.parser.push(delta.text));
        if (delta.finishReason !== undefined) {
          finish = publicFinishReason(delta.finishReason);
          list.push(...run.builder.push(run.parser.finish()), ...run.builder.finish(finish === 'length' ? 'incomplete' : 'completed'));
        }
        return frames(list);
      },
      done: (event) => {
        const reasoningTokens = reasoningTokenCount(tokenIds, run.parser.reasoningParser, run.thinkEndId);
        const response = finishedResponse(run.skeleton, run.builder.items, finish, event.usage, reasoningTokens);
        run.keep?.(response);
        return [frame({ type: response.status === 'completed' ? 'response.completed' : 'response.incomplete', response })];
      },
      error: (error) => [frame({ type: 'error', code: error.code, message: error.message, param: error.param })],
    });
  } finally {
    if (logPrompts) exchange.output = text;
  }
}
