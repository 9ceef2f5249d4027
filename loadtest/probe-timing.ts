/** Wall time of `count` calls of `run(i)` one after another: the median and the fastest, in ms. */
export async function timeRuns(count: number, run: (i: number) => Promise<unknown>): Promise<{ medianMs: number; minMs: number }> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await run(i);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[times.length >> 1], minMs: times[0] };
}
