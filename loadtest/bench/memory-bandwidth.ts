import { Worker } from 'node:worker_threads';

/**
 * The machine's memory-read bandwidth, measured the way decode reads weights: one streaming pass
 * over a buffer far larger than the last-level cache, so every byte comes from DRAM.
 *
 * Two single-core methods, both over the same buffer of float64 ones:
 * - `memchr`: Buffer.indexOf for a byte the buffer does not hold. libc's memchr scans with SIMD
 *   loads, so it is limited by memory, not by instructions: the figure the roofline uses.
 * - `js-sum`: a plain JavaScript loop summing the Float64Array with eight independent
 *   accumulators (one would be bound by the 4-cycle add latency, not by memory).
 * The same two passes over a buffer that fits in L2 show how far above memory speed each method
 * can go, i.e. that the big-buffer figure is really the memory's. Each figure is the best of a few
 * passes (the machine is shared; the least disturbed pass is the closest to the hardware).
 * `allCores` runs the memchr pass in one worker thread per core at once over its own buffer and
 * divides all bytes by the wall time: the bandwidth a forward pass on every core can draw.
 */
export interface BandwidthResult {
  bufferBytes: number;
  passes: number;
  /** GB/s (1e9 bytes per second), one core, buffer far beyond the caches. */
  memchrGBps: number;
  jsSumGBps: number;
  /** The same passes over a 1 MiB buffer (in cache): the methods' own ceilings. */
  inCacheMemchrGBps: number;
  inCacheJsSumGBps: number;
  /** Aggregate GB/s of `threads` simultaneous memchr passes, one per worker thread. */
  allCores: { threads: number; GBps: number } | null;
}

export interface BandwidthOptions {
  /** Bytes of the big buffer (default 2 GiB; the L3 here is 300 MiB). */
  bufferBytes?: number;
  passes?: number;
  /** Worker threads for the all-cores figure; 0 skips it. */
  threads?: number;
}

/** A byte that never occurs in a buffer of float64 ones (0x3FF0000000000000: bytes 00 and F0, 3F). */
const ABSENT_BYTE = 0x01;
const IN_CACHE_BYTES = 1 << 20;

export async function measureReadBandwidth(options: BandwidthOptions = {}): Promise<BandwidthResult> {
  const bufferBytes = roundToFloat64(options.bufferBytes ?? 2 * 1024 ** 3);
  const passes = options.passes ?? 3;
  const big = filledBuffer(bufferBytes);
  const small = filledBuffer(IN_CACHE_BYTES);
  const result: BandwidthResult = {
    bufferBytes,
    passes,
    memchrGBps: bestRate(big, passes, memchrPass),
    jsSumGBps: bestRate(big, passes, jsSumPass),
    // Many passes over the small buffer: each is microseconds long, so one would be timer noise.
    inCacheMemchrGBps: bestRate(small, passes, (b) => repeat(b, 256, memchrPass)) * 256,
    inCacheJsSumGBps: bestRate(small, passes, (b) => repeat(b, 64, jsSumPass)) * 64,
    allCores: null,
  };
  const threads = options.threads ?? 0;
  if (threads > 0) {
    // Free the big buffer first: the workers allocate their own share of the same total size.
    result.allCores = { threads, GBps: await parallelMemchrRate(threads, bufferBytes, passes) };
  }
  return result;
}

function roundToFloat64(bytes: number): number {
  return Math.max(8, Math.floor(bytes / 8) * 8);
}

/** Float64 ones: writing every element also makes the OS commit every page (no shared zero page). */
function filledBuffer(bytes: number): Float64Array {
  return new Float64Array(bytes / 8).fill(1);
}

/** Best GB/s of `passes` timed calls of `pass` over `data`. */
function bestRate(data: Float64Array, passes: number, pass: (data: Float64Array) => number): number {
  let best = 0;
  let sink = 0;
  for (let i = 0; i < passes + 1; i++) {
    const started = performance.now();
    sink += pass(data);
    const seconds = (performance.now() - started) / 1000;
    // The first pass warms the code (JIT) and the TLB; it is not counted.
    if (i > 0) best = Math.max(best, data.byteLength / seconds / 1e9);
  }
  if (Number.isNaN(sink)) throw new Error('unreachable: keeps the passes from being optimised away');
  return best;
}

function repeat(data: Float64Array, times: number, pass: (data: Float64Array) => number): number {
  let sink = 0;
  for (let i = 0; i < times; i++) sink += pass(data);
  return sink;
}

function memchrPass(data: Float64Array): number {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).indexOf(ABSENT_BYTE);
}

function jsSumPass(data: Float64Array): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  const end = data.length - (data.length % 8);
  for (let i = 0; i < end; i += 8) {
    s0 += data[i];
    s1 += data[i + 1];
    s2 += data[i + 2];
    s3 += data[i + 3];
    s4 += data[i + 4];
    s5 += data[i + 5];
    s6 += data[i + 6];
    s7 += data[i + 7];
  }
  for (let i = end; i < data.length; i++) s0 += data[i];
  return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
}

/**
 * The body of each all-cores worker, plain JavaScript (it runs with `eval`, so no loader or
 * compiled file is needed): fill its share, wait for the start signal, time `passes` memchr passes
 * and report the wall-clock span of each.
 */
const PARALLEL_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const data = Buffer.alloc(workerData.bytes, 0x07);
parentPort.postMessage({ ready: true });
parentPort.once('message', () => {
  const spans = [];
  for (let i = 0; i < workerData.passes + 1; i++) {
    const start = performance.timeOrigin + performance.now();
    if (data.indexOf(${ABSENT_BYTE}) !== -1) throw new Error('absent byte found');
    spans.push([start, performance.timeOrigin + performance.now()]);
  }
  parentPort.postMessage({ spans });
});
`;

/**
 * Starts `threads` workers that each scan bytes/threads of their own memory, releases them
 * together, and per pass divides all bytes by the time from the first start to the last end.
 */
async function parallelMemchrRate(threads: number, bytes: number, passes: number): Promise<number> {
  const share = Math.floor(bytes / threads);
  const workers = Array.from({ length: threads }, () => new Worker(PARALLEL_WORKER_SOURCE, { eval: true, workerData: { bytes: share, passes } }));
  try {
    await Promise.all(workers.map((w) => nextMessage(w)));
    const results = workers.map((w) => nextMessage(w) as Promise<{ spans: [number, number][] }>);
    for (const w of workers) w.postMessage('go');
    const spans = (await Promise.all(results)).map((r) => r.spans);
    let best = 0;
    for (let pass = 1; pass <= passes; pass++) {
      const start = Math.min(...spans.map((s) => s[pass][0]));
      const end = Math.max(...spans.map((s) => s[pass][1]));
      best = Math.max(best, (share * threads) / ((end - start) / 1000) / 1e9);
    }
    return best;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function nextMessage(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}
