import type { IncomingMessage } from 'node:http';

/**
 * What @hono/node-server passes as Hono's `env` for a request that came over HTTP: Node's own
 * request (and response). In-process requests (the batch executor's) have none.
 */
export interface NodeBindings {
  incoming?: IncomingMessage;
}

/**
 * Whether the client gave up on this exchange: Hono's request signal is aborted once Node's
 * response closes early, and a Node request destroyed before its body was complete is a client
 * that hung up while uploading (the signal may not have fired yet when the body read fails).
 */
export function clientGaveUp(request: Request, env: NodeBindings | undefined): boolean {
  if (request.signal.aborted) return true;
  const incoming = env?.incoming;
  return incoming !== undefined && incoming.destroyed && !incoming.complete;
}
