import { expNegative, NEGLIGIBLE_LOG_RATIO } from './exp-table.js';

/**
 * Single passes over one row of logits ([vocab] float32). These are the only loops that touch
 * every token, so they are kept minimal: one comparison per token on the common path, and no
 * allocation. NaN logits never win a comparison and so are never chosen.
 */

/** The first index of the largest logit; -1 when no logit is above -Infinity. */
export function argmax(row: Float32Array): number {
  let best = -Infinity;
  let bestIndex = -1;
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (v > best) {
      best = v;
      bestIndex = i;
    }
  }
  return bestIndex;
}

export function maxLogit(row: Float32Array): number {
  let best = -Infinity;
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    best = v > best ? v : best;
  }
  return best;
}

/**
 * The largest logit and the k-th largest (-Infinity if fewer than k are numbers), from a min-heap
 * of the k best seen so far. Once the heap is full a token costs one comparison with a local copy
 * of the heap's minimum, and in a row of random order only about k * ln(n / k) tokens ever beat
 * it, so the pass costs little more than `maxLogit`. `heap` must hold at least k values.
 */
export function maxAndKthLargest(row: Float32Array, k: number, heap: Float32Array): { max: number; kth: number } {
  let size = 0;
  let i = 0;
  for (; i < row.length && size < k; i++) {
    const v = row[i];
    if (v !== v) continue; // NaN
    // Sift up.
    let child = size++;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (heap[parent] <= v) break;
      heap[child] = heap[parent];
      child = parent;
    }
    heap[child] = v;
  }
  if (size < k) return { max: largestOf(heap, size), kth: -Infinity };
  let minimum = heap[0];
  for (; i < row.length; i++) {
    const v = row[i];
    if (v > minimum) {
      // Replace the minimum and sift down.
      let parent = 0;
      for (;;) {
        let child = 2 * parent + 1;
        if (child >= k) break;
        if (child + 1 < k && heap[child + 1] < heap[child]) child++;
        if (heap[child] >= v) break;
        heap[parent] = heap[child];
        parent = child;
      }
      heap[parent] = v;
      minimum = heap[0];
    }
  }
  // The row's maximum is among its k largest.
  return { max: largestOf(heap, k), kth: minimum };
}

function largestOf(values: Float32Array, count: number): number {
  let best = -Infinity;
  for (let i = 0; i < count; i++) best = values[i] > best ? values[i] : best;
  return best;
}

/**
 * The `count` largest logits with their ids, most likely first (ties: lower id first), and the
 * row's maximum, in one pass with a min-heap keyed on (logit, then higher id = smaller), so that
 * among equal logits the higher ids leave the heap first.
 */
export function largestLogits(
  row: Float32Array,
  count: number,
  heapValues: Float32Array,
  heapIds: Int32Array,
): { max: number; ids: number[] } {
  const less = (va: number, ia: number, vb: number, ib: number) => va < vb || (va === vb && ia > ib);
  let size = 0;
  let i = 0;
  for (; i < row.length && size < count; i++) {
    const v = row[i];
    if (v !== v) continue; // NaN
    let child = size++;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!less(v, i, heapValues[parent], heapIds[parent])) break;
      heapValues[child] = heapValues[parent];
      heapIds[child] = heapIds[parent];
      child = parent;
    }
    heapValues[child] = v;
    heapIds[child] = i;
  }
  let minimum = size === count ? heapValues[0] : Infinity;
  for (; i < row.length; i++) {
    const v = row[i];
    // An equal logit never displaces: its id is higher than every id already in the heap.
    if (v > minimum) {
      let parent = 0;
      for (;;) {
        let child = 2 * parent + 1;
        if (child >= count) break;
        if (child + 1 < count && less(heapValues[child + 1], heapIds[child + 1], heapValues[child], heapIds[child])) child++;
        if (!less(heapValues[child], heapIds[child], v, i)) break;
        heapValues[parent] = heapValues[child];
        heapIds[parent] = heapIds[child];
        parent = child;
      }
      heapValues[parent] = v;
      heapIds[parent] = i;
      minimum = heapValues[0];
    }
  }
  const ids = Array.from(heapIds.subarray(0, size));
  ids.sort((a, b) => row[b] - row[a] || a - b);
  return { max: largestOf(heapValues, size), ids };
}

/**
 * log(sum(exp(row))), leaving out logits more than NEGLIGIBLE_LOG_RATIO below the maximum (their
 * share of the sum is below 1.4e-8). `max` is `maxLogit(row)`, finite.
 */
export function logSumExp(row: Float32Array, max: number): number {
  const floor = max - NEGLIGIBLE_LOG_RATIO;
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (v >= floor) sum += expNegative(max - v);
  }
  return max + Math.log(sum);
}
