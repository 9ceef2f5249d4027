import type { ForwardStep, ModelRunner } from '../../src/model/model-runner.js';

/** Options of the failing runner, handed over as EngineConfig.runnerDecorator.options. */
export interface FailingRunnerOptions {
  /** A forward pass whose new tokens include this id throws, as a crashing kernel would. */
  poisonTokenId: number;
}

/**
 * A fault-injection runner for the engine worker (EngineConfig.runnerDecorator): the real ONNX
 * runner, except that a forward pass fed the poison token throws before it runs. Tests put the
 * poison in a prompt to make one chosen step fail, whatever else that step holds.
 */
export default function failingRunner(runner: ModelRunner, options: unknown): ModelRunner {
  const { poisonTokenId } = options as FailingRunnerOptions;
  return {
    get info() {
      return runner.info;
    },
    forward(step: ForwardStep) {
      if (step.tokens.some((row) => row.includes(poisonTokenId))) {
        return Promise.reject(new Error(`injected fault: a forward pass met token ${poisonTokenId}`));
      }
      return runner.forward(step);
    },
    copyRow: (from, to, length) => runner.copyRow(from, to, length),
    swapRows: (a, b, length) => runner.swapRows(a, b, length),
    releaseRow: (row) => runner.releaseRow(row),
    close: () => runner.close(),
  };
}
