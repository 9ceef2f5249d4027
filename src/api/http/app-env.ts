import type { Exchange } from './exchange.js';

/** Hono's environment for this app: what middleware hands to routes through the context. */
export interface AppEnv {
  Variables: {
    /** This HTTP exchange's id, timings and token counts, for its log line and metrics. */
    exchange: Exchange;
  };
}
