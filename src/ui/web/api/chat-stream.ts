import { ApiError, errorMessage, type ApiClient } from './api-client.js';

/** What one stream chunk adds: answer text, and reasoning when the server separates it. */
export interface ChatDelta {
  content: string;
  reasoning: string;
}

export interface StreamEnd {
  finishReason: string | null;
}

interface ChunkChoice {
  delta?: { content?: string | null; reasoning_content?: string | null };
  finish_reason?: string | null;
}

/**
 * Runs a streamed chat completion and hands each delta to `onDelta`. Both ways Qwen3's reasoning
 * can arrive are passed on: `delta.reasoning_content` (a server that parses `<think>`) as
 * reasoning, raw `<think>` text inside content as content (the caller splits it). Aborting
 * `signal` cancels the fetch, which closes the connection: the server cancels the request and
 * frees its KV row.
 */
export async function streamChat(api: ApiClient, body: object, signal: AbortSignal, onDelta: (delta: ChatDelta) => void): Promise<StreamEnd> {
  const response = await api.fetch('/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
    signal,
  });
  if (!response.ok || !response.body) throw new ApiError(await errorMessage(response), response.status);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  let finishReason: string | null = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    // Server-sent events end with a blank line; a read may end mid-event.
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = event
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      if (!data) continue;
      if (data === '[DONE]') return { finishReason };
      const chunk = JSON.parse(data) as { choices?: ChunkChoice[]; error?: { message: string } };
      // An error after the stream started arrives as an event of its own (the status was 200 already).
      if (chunk.error) throw new ApiError(chunk.error.message, 500);
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      const content = choice.delta?.content ?? '';
      const reasoning = choice.delta?.reasoning_content ?? '';
      if (content || reasoning) onDelta({ content, reasoning });
      finishReason = choice.finish_reason ?? finishReason;
    }
  }
  return { finishReason };
}

/** A whole (not streamed) chat completion's text, for the document summary's part prompts. */
export async function completeChat(api: ApiClient, body: object, signal: AbortSignal): Promise<string> {
  const answer = await api.json<{ choices: { message: { content: string | null } }[] }>('/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: false }),
    signal,
  });
  return answer.choices[0]?.message.content ?? '';
}
