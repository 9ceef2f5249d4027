import type { ResponseStore } from '../responses/response-store.js';
import type { ServingState } from '../serving-state.js';

/** What every route module is given when it registers its routes. */
export interface RouteOptions {
  state: ServingState;
  /** Put prompts and outputs into the request log lines (--log-prompts); off by default. */
  logPrompts: boolean;
  /** --request-timeout: the longest a generation request may live, queue wait included; 0: no limit. */
  requestTimeoutSeconds: number;
  /** Where POST /v1/responses keeps responses for GET and previous_response_id. */
  responses: ResponseStore;
}
