import type { Exchange } from '../http/exchange.js';

export interface StreamResponseOptions {
  exchange: Exchange;
  contentType: string;
  /** Aborted when the client goes away (the body is cancelled): the request's engine work stops. */
  abort: AbortController;
  /** The body, one string per write; it ends the stream by returning. */
  body: AsyncGenerator<string, void, undefined>;
}

const encoder = new TextEncoder();

/**
 * A streamed HTTP response written as `body` yields, one network write per piece: the generator
 * is pulled only when the previous piece has been handed to the socket, so a slow client slows
 * generation's reader rather than piling up memory. When the client disconnects, @hono/node-server
 * cancels the stream: `abort` fires (the engine frees the request's KV row) and the generator is
 * closed. The exchange's log line waits for the end either way.
 */
export function streamResponse(options: StreamResponseOptions): Response {
  const { body, exchange, abort } = options;
  let settle!: () => void;
  exchange.bodyDone = new Promise<void>((resolve) => (settle = resolve));
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await body.next();
        if (next.done) {
          controller.close();
          settle();
        } else {
          controller.enqueue(encoder.encode(next.value));
        }
      } catch (err) {
        controller.error(err);
        settle();
      }
    },
    async cancel() {
      exchange.clientGone = true;
      abort.abort();
      try {
        await body.return(undefined);
      } finally {
        settle();
      }
    },
  });
  return new Response(stream, {
    status: 200,
    headers: {
      'content-type': options.contentType,
      'cache-control': 'no-cache',
      // Reverse proxies (nginx) buffer responses unless told not to; tokens must flow as made.
      'x-accel-buffering': 'no',
    },
  });
}
