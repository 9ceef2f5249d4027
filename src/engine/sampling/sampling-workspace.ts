import { MAX_TABLE_INDEX } from './exp-table.js';

/**
 * Scratch memory for sampling, sized to the vocabulary and shared by all samplers of a thread:
 * samplers run one at a time on the engine's thread and carry nothing over between calls, so
 * one set of buffers (about 3.5 MB for 151936 tokens) serves every request.
 */
export class SamplingWorkspace {
  /** Candidate token ids, in id order as collected. */
  ids = new Int32Array(0);
  /** Candidate weights exp((logit - max) / T), relative to the most likely token's 1. */
  weights = new Float64Array(0);
  /** Positions (into ids/weights) of the heaviest candidates, for the top_p fast path. */
  probe = new Int32Array(0);
  /** Per-candidate exp-table index (the weight's bucket), for the general top_p path. */
  buckets = new Uint16Array(0);
  /** Weight per exp-table index, for the general top_p path. */
  readonly bucketMass = new Float64Array(MAX_TABLE_INDEX + 1);
  /** Min-heap for top-k thresholds and top logprobs (with the ids, for logprobs). */
  heap = new Float32Array(64);
  heapIds = new Int32Array(64);
  /** Per-token mark of the current logit-edit epoch: which ids were already saved. */
  editStamp = new Uint32Array(0);
  /** Shared by all samplers using this workspace, so no two edit passes share an epoch. */
  private editEpoch = 0;
  /** Total weight of the last candidate collection. */
  candidateMass = 0;
  /** Entries of `probe` filled by the last candidate collection. */
  probeCount = 0;
  /** Kept mass of the last nucleus selection. */
  keptMass = 0;

  /** A fresh epoch for `editStamp`. */
  nextEditEpoch(): number {
    this.editEpoch = (this.editEpoch + 1) >>> 0;
    if (this.editEpoch === 0) {
      // After 2^32 passes old stamps could equal new epochs: clear them and start again.
      this.editStamp.fill(0);
      this.editEpoch = 1;
    }
    return this.editEpoch;
  }

  /** Grows the buffers for a row of `length` logits and a heap of `heapSize`. */
  reserve(length: number, heapSize = 0): void {
    if (this.ids.length < length) {
      this.ids = new Int32Array(length);
      this.weights = new Float64Array(length);
      this.probe = new Int32Array(length);
      this.buckets = new Uint16Array(length);
      this.editStamp = new Uint32Array(length);
    }
    if (this.heap.length < heapSize) {
      this.heap = new Float32Array(heapSize);
      this.heapIds = new Int32Array(heapSize);
    }
  }
}

let shared: SamplingWorkspace | null = null;

/** The workspace of this thread (a worker has its own module instance, so its own workspace). */
export function sharedSamplingWorkspace(): SamplingWorkspace {
  shared ??= new SamplingWorkspace();
  return shared;
}
