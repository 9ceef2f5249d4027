import { DEFAULT_SAMPLING_PARAMS, type SamplingParams } from '../../src/engine/sampling/sampling-params.js';
import type { EngineCore } from '../../src/engine/engine-core.js';
import type { EngineEvent, FinishReason, GenerationRequest, RequestUsage } from '../../src/engine/generation.js';

/** What one request produced, reassembled from its events. */
export interface Collected {
  text: string[];
  tokens: number[][];
  finishReasons: (FinishReason | undefined)[];
  /** Per choice, the chosen tokens' log-probabilities (when the request asked for them). */
  logprobs: number[][];
  done: boolean;
  /** From the request's `done` event. */
  usage?: RequestUsage;
  error?: string;
}

export function request(id: string, promptTokenIds: number[], overrides: Partial<GenerationRequest> = {}, sampling: Partial<SamplingParams> = {}): GenerationRequest {
  return {
    id,
    promptTokenIds,
    sampling: { ...DEFAULT_SAMPLING_PARAMS, temperature: 0, ...sampling },
    n: 1,
    maxTokens: 8,
    stop: [],
    priority: 'interactive',
    arrivalTime: performance.timeOrigin + performance.now(),
    ...overrides,
  };
}

export class EngineDriver {
  readonly results = new Map<string, Collected>();
  steps = 0;

  constructor(readonly core: EngineCore) {}

  add(req: GenerationRequest): void {
    this.results.set(req.id, {
      text: Array.from({ length: req.n }, () => ''),
      tokens: Array.from({ length: req.n }, () => []),
      finishReasons: Array.from({ length: req.n }, () => undefined),
      logprobs: Array.from({ length: req.n }, () => []),
      done: false,
    });
    this.core.add(req);
  }

  /** Runs one engine step and files its events. */
  async step(): Promise<EngineEvent[]> {
    const { events } = await this.core.step();
    this.steps++;
    for (const event of events) this.file(event);
    return events;
  }

  /** Steps until the engine is idle (bounded, so a hang fails instead of spinning forever). */
  async runUntilIdle(maxSteps = 10_000): Promise<void> {
    while (this.core.hasWork()) {
      if (this.steps >= maxSteps) throw new Error(`engine still busy after ${maxSteps} steps`);
      await this.step();
    }
  }

  private file(event: EngineEvent): void {
    const result = this.results.get(event.requestId);
    if (!result) throw new Error(`event for unknown request ${event.requestId}`);
    if (result.done) throw new Error(`event after the end of request ${event.requestId}: ${JSON.stringify(event)}`);
    if (event.type === 'delta') {
      const { choice, text, tokenIds, finishReason, logprobs } = event.delta;
      if (result.finishReasons[choice] !== undefined) throw new Error(`delta after finish for ${event.requestId}#${choice}`);
      result.text[choice] += text;
      result.tokens[choice].push(...tokenIds);
      result.finishReasons[choice] = finishReason;
      result.logprobs[choice].push(...(logprobs ?? []).map((l) => l.logprob));
    } else if (event.type === 'done') {
      result.done = true;
      result.usage = event.usage;
    } else {
      result.done = true;
      result.error = event.error.message;
    }
  }
}
