import type { RequestUsage } from '../../engine/generation.js';
import type { ResponseCreateRequest, ResponseObject, ResponseOutputItem } from '../schemas/responses.js';

/**
 * The response object as it stands before any output (`in_progress`): what response.created
 * carries, and the request's settings echoed as OpenAI echoes them.
 */
export function responseSkeleton(id: string, createdAt: number, model: string, body: ResponseCreateRequest): ResponseObject {
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status: 'in_progress',
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model,
    output: [],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: body.reasoning?.effort ?? null, summary: body.reasoning?.summary ?? null },
    store: body.store ?? true,
    temperature: body.temperature ?? null,
    top_p: body.top_p ?? null,
    text: { format: body.text?.format ?? { type: 'text' } },
    tool_choice: body.tool_choice ?? ((body.tools?.length ?? 0) > 0 ? 'auto' : 'none'),
    tools: body.tools ?? [],
    truncation: 'disabled',
    metadata: body.metadata ?? {},
    usage: null,
    user: body.user ?? null,
  };
}

/** The finished response: its items, `incomplete` when the output was cut at max_output_tokens (or the context). */
export function finishedResponse(
  skeleton: ResponseObject,
  output: readonly ResponseOutputItem[],
  finish: 'stop' | 'length',
  usage: RequestUsage,
  reasoningTokens: number,
): ResponseObject {
  return {
    ...skeleton,
    status: finish === 'length' ? 'incomplete' : 'completed',
    incomplete_details: finish === 'length' ? { reason: 'max_output_tokens' } : null,
    output: structuredClone([...output]),
    usage: {
      input_tokens: usage.promptTokens,
      input_tokens_details: { cached_tokens: usage.cachedPromptTokens },
      output_tokens: usage.completionTokens,
      output_tokens_details: { reasoning_tokens: reasoningTokens },
      total_tokens: usage.promptTokens + usage.completionTokens,
    },
  };
}
