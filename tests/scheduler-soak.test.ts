import { describe, expect, it } from 'vitest';
import { ContextLengthExceededError, Priority, type SchedulerConfig } from '../scheduler/index.js';
import { FakeEngine, seededRandom } from './scheduler-fake-engine.js';

interface SoakCase {
  name: string;
  seed: number;
  config: SchedulerConfig;
  /** Steps with random arrivals; then the engine drains. */
  arrivalSteps: number;
}

const cases: SoakCase[] = [
  {
    name: 'tight KV budget, priority preemption on',
    seed: 1,
    config: { maxSeqs: 4, maxLen: 256, kvTokenBudget: 400, maxNumBatchedTokens: 4 + 48, maxPrefillChunk: 48 },
    arrivalSteps: 2_000,
  },
  {
    name: 'many rows, small chunks, shield 0 (no priority preemption ever)',
    seed: 2,
    config: { maxSeqs: 8, maxLen: 200, kvTokenBudget: 600, maxNumBatchedTokens: 8 + 16, maxPrefillChunk: 16, preemptionShield: 0 },
    arrivalSteps: 1_500,
  },
  {
    name: 'KV budget below one row, priority preemption off',
    seed: 3,
    config: { maxSeqs: 3, maxLen: 512, kvTokenBudget: 180, maxNumBatchedTokens: 64, priorityPreemption: false },
    arrivalSteps: 1_500,
  },
];

describe('scheduler soak', () => {
  for (const { name, seed, config, arrivalSteps } of cases) {
    it(`keeps every invariant over thousands of random steps: ${name}`, () => {
      const random = seededRandom(seed);
      const engine = new FakeEngine(config);
      const { scheduler } = engine;
      const { maxSeqs, kvTokenBudget, contextLimit } = scheduler.config;
      const submitted: string[] = [];
      const aborted = new Set<string>();
      let rejected = 0;

      const abortSomeone = () => {
        const id = submitted[Math.floor(random() * submitted.length)];
        if (id !== undefined && scheduler.abort(id)) aborted.add(id);
      };
      // Reservations fit the budget after schedule(); update() may push them over by the tokens
      // just sampled (not yet in KV), which the next schedule() settles by preempting. Plain
      // checks rather than expect(): they run twice per step.
      const checkInvariants = (afterSchedule: boolean) => {
        const stats = scheduler.stats();
        const finished = Object.values(stats.finishedTotal).reduce((a, b) => a + b, 0);
        const broken = [
          stats.numRunning > maxSeqs && 'rows over maxSeqs',
          afterSchedule && stats.kvTokensReserved > kvTokenBudget && 'KV reservations over budget',
          stats.kvTokensInUse > Math.min(stats.kvTokensReserved, kvTokenBudget) && 'KV in use over reservations or budget',
          stats.numRunning + stats.numWaiting !== submitted.length - finished && 'live requests miscounted',
        ].filter(Boolean);
        if (broken.length > 0) throw new Error(`step ${stats.stepsTotal}: ${broken.join(', ')}`);
      };

      let step = 0;
      for (; step < arrivalSteps || scheduler.hasWork(); step++) {
        if (step > arrivalSteps * 20) throw new Error('the engine does not drain');
        if (step < arrivalSteps && random() < 0.35) {
          const id = `q${submitted.length}`;
          // Mostly short chats, sometimes a prompt near the limit, now and then one past it.
          const long = random() < 0.1;
          const promptLength = long ? contextLimit - 1 - Math.floor(random() * 40) : 1 + Math.floor(random() * 60);
          if (random() < 0.02) {
            expect(() => scheduler.add({ id: 'too-long', promptLength: contextLimit, maxTokens: 1 })).toThrow(ContextLengthExceededError);
            rejected += 1;
          }
          engine.submit(id, {
            promptLength,
            maxTokens: 1 + Math.floor(random() * 50),
            priority: random() < 0.5 ? Priority.interactive : Priority.batch,
            stopDivisor: random() < 0.5 ? 20 + Math.floor(random() * 40) : undefined,
          });
          submitted.push(id);
        }
        if (random() < 0.02) abortSomeone();
        engine.step((output) => {
          checkInvariants(true);
          // Progress: whenever a request is live, something is computed.
          const { numRunning, numWaiting } = scheduler.stats();
          if (numRunning + numWaiting > 0 && output.numScheduledTokens === 0) throw new Error(`step ${output.step} made no progress`);
          if (random() < 0.01) abortSomeone();
        });
        checkInvariants(false);
      }
      engine.step();

      // Every request finished exactly once (FakeEngine throws on a second report).
      expect(engine.results.size).toBe(submitted.length);
      for (const id of submitted) {
        if (aborted.has(id)) expect(engine.results.get(id)?.reason, id).toBe('abort');
        else expect(engine.results.get(id), id).toMatchObject(engine.expected.get(id)!);
      }
      const stats = scheduler.stats();
      expect(stats).toMatchObject({ numRunning: 0, numWaiting: 0, numPreempted: 0, kvTokensInUse: 0, kvTokensReserved: 0 });
      const finishedTotal = Object.values(stats.finishedTotal).reduce((a, b) => a + b, 0);
      expect(finishedTotal).toBe(submitted.length);
      expect(stats.finishedTotal.abort).toBe(aborted.size);
      expect(engine.runner.rows.size).toBe(0);
      expect(scheduler.hasWork()).toBe(false);
      // The soak must actually exercise the interesting paths.
      expect(stats.preemptionsTotal).toBeGreaterThan(0);
      expect(aborted.size).toBeGreaterThan(0);
      expect(rejected).toBeGreaterThan(0);
      expect(step).toBeGreaterThan(arrivalSteps);
    });
  }
});
