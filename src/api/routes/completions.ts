import type { Hono } from 'hono';
import { invalidParam } from '../../errors.js';
import type { EngineEvent, GenerationRequest } from '../../engine/generation.js';
import { collectChoices, publicFinishReason } from '../generation/collect-choices.js';
import { generationStream } from '../generation/generation-stream.js';
import { CompletionLogprobsBuilder } from '../generation/logprobs.js';
import { planGeneration } from '../generation/plan.js';
import { SSE_CONTENT_TYPE, SSE_DONE, sseEvent } from '../generation/sse.js';
import { usageBody } from '../generation/usage.js';
import { startGeneration } from '../generation/start-generation.js';
import { streamResponse } from '../generation/stream-response.js';
import type { AppEnv } from '../http/app-env.js';
import type { Exchange } from '../http/exchange.js';
import { CompletionRequest, DEFAULT_COMPLETION_MAX_TOKENS, type Completion, type CompletionChunk } from '../schemas/completions.js';
import type { ServedModel } from '../serving-state.js';
import { parseJsonBody } from '../validation/parse-body.js';
import type { RouteOptions } from './route-options.js';
import { checkModelName, checkTokenIds, unixSeconds } from './served-model.js';

/** POST /v1/completions: OpenAI's legacy text completions, whole or streamed. */
export function registerCompletions(app: Hono<AppEnv>, options: RouteOptions): void {
  app.post('/v1/completions', async (c) => {
    const model = options.state.acceptWork();
    const body = await parseJsonBody(c.req.raw, CompletionRequest);
    checkModelName(model, body.model);
    if (body.stream_options && !body.stream) throw invalidParam('stream_options', 'stream_options is only allowed when stream is true');
    const exchange = c.get('exchange');
    const promptTokenIds = await promptTokens(model, body.prompt);
    if (options.logPrompts) exchange.prompt = model.tokenizer.decode(promptTokenIds);
    // Completions' `logprobs` is a count of alternatives; the sampler takes chat's pair of fields.
    const wantsLogprobs = body.logprobs !== null && body.logprobs !== undefined;
    const request = planGeneration(model, {
      promptTokenIds,
      promptParam: 'prompt',
      maxTokens: body.max_tokens,
      defaultMaxTokens: DEFAULT_COMPLETION_MAX_TOKENS,
      n: body.n,
      stop: body.stop,
      sampling: { ...body, logprobs: wantsLogprobs, top_logprobs: body.logprobs ?? 0 },
      priority: c.env?.priority,
    });
    exchange.promptTokens = request.promptTokenIds.length;
    const { events, abort } = startGeneration(model, request, c.req.raw.signal, options.requestTimeoutSeconds);
    const reply = { id: `cmpl-${request.id}`, object: 'text_completion' as const, created: unixSeconds(), model: model.name };
    if (!body.stream) {
      const { choices, usage } = await collectChoices(events, request.n, exchange);
      if (options.logPrompts) exchange.output = choices.map((choice) => choice.text).join('\n---\n');
      const response: Completion = {
        ...reply,
        choices: choices.map((choice, index) => ({
          index,
          text: choice.text,
          logprobs: choice.logprobs ? new CompletionLogprobsBuilder(model.tokenizer).add(choice.logprobs) : null,
          finish_reason: choice.finishReason,
          stop_reason: choice.stopReason,
        })),
        usage: usageBody(usage),
      };
      return c.json(response);
    }
    const stream = completionStream(model, request, events, exchange, abort.signal, {
      reply,
      includeUsage: body.stream_options?.include_usage ?? false,
      logPrompts: options.logPrompts,
    });
    return streamResponse({ exchange, abort, contentType: SSE_CONTENT_TYPE, body: stream });
  });
}

/** The prompt as token ids: text is encoded; ids (also a one-element list of either) pass through. */
async function promptTokens(model: ServedModel, prompt: CompletionRequest['prompt']): Promise<number[]> {
  const single = Array.isArray(prompt) && prompt.length === 1 && (typeof prompt[0] === 'string' || Array.isArray(prompt[0])) ? prompt[0] : prompt;
  if (typeof single === 'string') return model.prompts.encode(single);
  const ids = single as number[];
  checkTokenIds(model, ids, 'prompt');
  return [...ids];
}

/** Chunks of a streamed completion: text deltas per choice, finish reasons, usage, `[DONE]`. */
async function* completionStream(
  model: ServedModel,
  request: GenerationRequest,
  events: AsyncIterable<EngineEvent>,
  exchange: Exchange,
  clientGone: AbortSignal,
  options: { reply: Omit<CompletionChunk, 'choices' | 'usage'>; includeUsage: boolean; logPrompts: boolean },
): AsyncGenerator<string, void, undefined> {
  const usageField = options.includeUsage ? { usage: null } : {};
  const logprobs = request.sampling.logprobs ? Array.from({ length: request.n }, () => new CompletionLogprobsBuilder(model.tokenizer)) : null;
  const outputs = options.logPrompts ? Array.from({ length: request.n }, () => '') : null;
  try {
    yield* generationStream(events, exchange, clientGone, {
      delta: (delta) => {
        const finishing = delta.finishReason !== undefined;
        const chunkLogprobs = logprobs && delta.logprobs && delta.logprobs.length > 0 ? logprobs[delta.choice].add(delta.logprobs) : null;
        if (delta.text === '' && chunkLogprobs === null && !finishing) return null;
        if (outputs) outputs[delta.choice] += delta.text;
        const choice: CompletionChunk['choices'][number] = {
          index: delta.choice,
          text: delta.text,
          logprobs: chunkLogprobs,
          finish_reason: finishing ? publicFinishReason(delta.finishReason) : null,
          ...(finishing ? { stop_reason: delta.stopReason ?? null } : {}),
        };
        return sseEvent({ ...options.reply, choices: [choice], ...usageField });
      },
      done: (event) => [...(options.includeUsage ? [sseEvent({ ...options.reply, choices: [], usage: usageBody(event.usage) })] : []), SSE_DONE],
      error: (error) => [sseEvent(error.toBody()), SSE_DONE],
    });
  } finally {
    if (outputs) exchange.output = outputs.join('\n---\n');
  }
}
