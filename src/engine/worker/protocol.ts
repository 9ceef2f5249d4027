import type { SerializedServeError } from '../../errors.js';
import type { EngineInfo } from '../engine-info.js';
import type { EngineEvent, GenerationRequest } from '../generation.js';
import type { StepReport } from '../step-report.js';

/** Messages between the main thread (EngineClient) and the engine worker. Plain data only. */

export type ToWorker =
  | { type: 'add'; request: GenerationRequest }
  | { type: 'abort'; requestId: string }
  | { type: 'shutdown' };

export type FromWorker =
  | { type: 'ready'; info: EngineInfo }
  | { type: 'step'; events: EngineEvent[]; report: StepReport }
  /** add() refused the request (e.g. context_length_exceeded); it never started. */
  | { type: 'rejected'; requestId: string; error: SerializedServeError }
  /** The engine cannot go on (model failed to load, loop crashed). */
  | { type: 'fatal'; error: SerializedServeError };
