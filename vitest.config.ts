import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Model and server tests load ONNX sessions that take a few seconds each on 2 cores.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Files run in forked processes so onnxruntime sessions and servers of one file cannot
    // disturb another; two at a time matches the two cores CI has.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    globalSetup: ['tests/global-setup.ts'],
  },
});
