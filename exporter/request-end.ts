import type { EngineEvent } from '../src/engine/generation.js';

/** The last event of a request, as EngineClient.onRequestEnd delivers it: `done` or `error`. */
export type RequestEnd = Extract<EngineEvent, { type: 'done' | 'error' }>;
