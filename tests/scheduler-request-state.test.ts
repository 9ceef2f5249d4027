import { describe, expect, it } from 'vitest';
import { IllegalTransitionError, resolveSchedulerConfig } from '../scheduler/index.js';
import { RequestState, type RequestStatus } from '../scheduler/request-state.js';

function requestIn(status: RequestStatus): RequestState {
  const request = new RequestState('r', 0, 0, 4, 8);
  if (status === 'running' || status === 'preempted') request.transition('running');
  if (status === 'preempted') request.transition('preempted');
  if (status === 'finished') request.transition('finished', 'abort');
  return request;
}

describe('request state machine', () => {
  const legal: Array<[RequestStatus, RequestStatus]> = [
    ['waiting', 'running'],
    ['waiting', 'finished'],
    ['running', 'preempted'],
    ['running', 'finished'],
    ['preempted', 'running'],
    ['preempted', 'finished'],
  ];
  const all: RequestStatus[] = ['waiting', 'running', 'preempted', 'finished'];

  it('allows exactly the legal transitions', () => {
    for (const from of all) {
      for (const to of all) {
        const request = requestIn(from);
        const move = () => request.transition(to, to === 'finished' ? 'stop' : undefined);
        if (legal.some(([f, t]) => f === from && t === to)) {
          move();
          expect(request.status).toBe(to);
        } else {
          expect(move).toThrow(IllegalTransitionError);
          expect(request.status).toBe(from);
        }
      }
    }
  });

  it('takes a finish reason with finished and only then', () => {
    expect(() => requestIn('running').transition('finished')).toThrow(/finish reason/);
    expect(() => requestIn('running').transition('preempted', 'stop')).toThrow(/finish reason/);
    const request = requestIn('running');
    request.transition('finished', 'length');
    expect(request.snapshot()).toMatchObject({ status: 'finished', finishReason: 'length' });
  });

  it('counts tokens as prompt plus generated, decodable with one left onto a non-empty past', () => {
    const request = requestIn('running');
    expect(request.numTokensToCompute).toBe(4);
    expect(request.isDecodable).toBe(false);
    request.numComputedTokens = 4;
    request.numGeneratedTokens = 1;
    expect(request.numTokens).toBe(5);
    expect(request.isDecodable).toBe(true);
  });
});

describe('scheduler config', () => {
  it('applies defaults and caps the context limit by the KV budget', () => {
    const config = resolveSchedulerConfig({ maxSeqs: 4, maxLen: 512, kvTokenBudget: 300 });
    expect(config).toMatchObject({
      maxNumBatchedTokens: 4 + 128,
      maxPrefillChunk: 128,
      priorityPreemption: true,
      contextLimit: 300,
    });
    expect(resolveSchedulerConfig({ maxSeqs: 2, maxLen: 100 }).kvTokenBudget).toBe(200);
  });

  it('rejects a token budget smaller than the decode batch and non-integers', () => {
    expect(() => resolveSchedulerConfig({ maxSeqs: 8, maxLen: 64, maxNumBatchedTokens: 4 })).toThrow(/maxSeqs/);
    expect(() => resolveSchedulerConfig({ maxSeqs: 1.5, maxLen: 64 })).toThrow(RangeError);
    expect(() => resolveSchedulerConfig({ maxSeqs: 1, maxLen: 1 })).toThrow(/one generated token/);
  });
});
