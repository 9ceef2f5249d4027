/** The scheduler's public API: pure policy, no dependency outside this folder. */
export { Scheduler } from './scheduler.js';
export { resolveSchedulerConfig, type ResolvedSchedulerConfig, type SchedulerConfig, type SchedulerTuning } from './config.js';
export { ContextLengthExceededError, IllegalTransitionError, SchedulerError, type SchedulerErrorCode } from './errors.js';
export { Priority, type FinishReason, type NewRequest, type RequestSnapshot, type RequestStatus } from './request-state.js';
export type { SchedulerStats } from './scheduler-stats.js';
export { MIN_PREFIX_TOKENS } from './prefix-cache.js';
export type {
  DecodeEntry,
  FinishedRequest,
  PrefillChunk,
  PrefixReuse,
  RetainedPrefix,
  SchedulerOutput,
  StepResults,
  UpdateResult,
} from './step-output.js';
