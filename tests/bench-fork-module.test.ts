import { describe, expect, it } from 'vitest';
import { runInChildProcess } from '../loadtest/bench/fork-module.js';
import { sumNumbers } from './helpers/sum-child.js';

/** The benchmarks' child processes (llama.cpp and model probes) get their arguments whole, however large. */
describe('runInChildProcess', () => {
  it('hands a child an argument larger than the kernel allows one argv string (the contract workload sends ~45k token ids)', async () => {
    const numbers = Array.from({ length: 60_000 }, (_, i) => 100_000 + i); // ~420 KB of JSON
    const result = await runInChildProcess<{ count: number; sum: number }>(new URL('./helpers/sum-child.ts', import.meta.url), numbers);
    expect(result).toEqual(await sumNumbers(numbers));
  });
});
