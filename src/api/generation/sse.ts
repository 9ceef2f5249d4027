/**
 * Server-sent events exactly as OpenAI frames a stream: each event is one `data:` line holding a
 * JSON object and a blank line, no `event:` or `id:` fields; the stream ends with `data: [DONE]`.
 */
export const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8';

export function sseEvent(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

export const SSE_DONE = 'data: [DONE]\n\n';
