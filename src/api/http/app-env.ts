import type { RequestPriority } from '../../engine/generation.js';
import type { Exchange } from './exchange.js';
import type { NodeBindings } from './node-bindings.js';

/**
 * What an in-process caller passes as `app.request()`'s third argument (Hono's `env`). Over HTTP
 * the environment is the Node server's own bindings, which never carry these fields, so no
 * client can set them.
 */
export interface InProcessBindings {
  /** The batch executor runs its lines at `batch` priority; absent means interactive. */
  priority?: RequestPriority;
}

/** Hono's environment for this app: what middleware hands to routes through the context. */
export interface AppEnv {
  Bindings: InProcessBindings & NodeBindings;
  Variables: {
    /** This HTTP exchange's id, timings and token counts, for its log line and metrics. */
    exchange: Exchange;
  };
}
