import { answerParentProcess } from '../../loadtest/bench/fork-module.js';

/** A forked module for tests/bench-fork-module.test.ts: answers with the sum and count of the numbers it was given. */
export async function sumNumbers(numbers: number[]): Promise<{ count: number; sum: number }> {
  return { count: numbers.length, sum: numbers.reduce((a, b) => a + b, 0) };
}

answerParentProcess(import.meta.url, sumNumbers);
