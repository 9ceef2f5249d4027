import { expNegativeScaled, NEGLIGIBLE_LOG_RATIO, STEPS_PER_UNIT } from './exp-table.js';
import { nucleusByBuckets, nucleusFromProbe } from './nucleus.js';
import { maxAndKthLargest, maxLogit } from './row-scan.js';
import type { SamplingWorkspace } from './sampling-workspace.js';

/** The settings that shape the distribution sampled from (greedy is handled before this). */
export interface TemperatureSettings {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
}

/**
 * With top_p alone, the heaviest this-many tokens are found in the first pass and tried first:
 * a trained model's nucleus is usually smaller, and then the rest is never sorted or bucketed.
 */
const NUCLEUS_PROBE_SIZE = 256;

/** A probe larger than this (a large top_k, or many ties) goes straight to the bucketed path. */
const MAX_PROBE_SORT = 4 * NUCLEUS_PROBE_SIZE;

/**
 * Draws a token from softmax(logits / T), restricted by min_p, top_k and top_p (vLLM's order and
 * rules), using the uniform `draw` in [0, 1). Returns -1 if no logit is above -Infinity.
 *
 * 1. One pass for the maximum and, by a small min-heap, the k-th largest logit (k = top_k, or
 *    NUCLEUS_PROBE_SIZE to prepare top_p's fast path).
 * 2. One pass collecting the candidates with their weights exp((logit - max) / T): at or above the
 *    k-th largest (ties kept, as in vLLM), at least min_p times as likely as the top token, and
 *    not negligible (within NEGLIGIBLE_LOG_RATIO of the top at this temperature).
 * 3. top_p: the nucleus among the probe of heaviest tokens if it reaches top_p there, else by
 *    bucketing all candidates by weight (nucleus.ts). No full sort anywhere.
 * 4. The draw, scaled to the kept mass, walks the kept weights.
 */
export function sampleWithTemperature(row: Float32Array, s: TemperatureSettings, draw: number, ws: SamplingWorkspace): number {
  const topK = s.topK > 0 && s.topK < row.length ? s.topK : 0;
  const nucleus = s.topP < 1;
  const heapSize = topK > 0 ? topK : nucleus ? NUCLEUS_PROBE_SIZE : 0;
  ws.reserve(row.length, heapSize);

  let max: number;
  let kth = -Infinity;
  if (heapSize > 0) ({ max, kth } = maxAndKthLargest(row, heapSize, ws.heap));
  else max = maxLogit(row);
  if (!(max > -Infinity)) return -1;

  const logRatioFloor = s.minP > 0 ? Math.max(Math.log(s.minP), -NEGLIGIBLE_LOG_RATIO) : -NEGLIGIBLE_LOG_RATIO;
  const floor = max + s.temperature * logRatioFloor;
  const threshold = topK > 0 ? Math.max(kth, floor) : floor;
  // With top_k every candidate is in the probe; without top_p nobody needs one.
  const probeThreshold = !nucleus ? Infinity : topK > 0 ? -Infinity : kth;
  const n = collectCandidates(row, threshold, max, STEPS_PER_UNIT / s.temperature, probeThreshold, ws);
  const { ids, weights, probe } = ws;
  const mass = ws.candidateMass;

  if (!nucleus) return walk(ids, weights, n, draw * mass);
  const need = s.topP * mass;
  const fromProbe = ws.probeCount <= MAX_PROBE_SORT ? nucleusFromProbe(ws, ws.probeCount, need) : -1;
  if (fromProbe > 0) {
    const target = draw * ws.keptMass;
    let cumulative = 0;
    for (let i = 0; i < fromProbe; i++) {
      cumulative += weights[probe[i]];
      if (cumulative > target) return ids[probe[i]];
    }
    return ids[probe[fromProbe - 1]];
  }
  const kept = nucleusByBuckets(ws, n, need);
  return walk(ids, weights, kept, draw * ws.keptMass);
}

/**
 * Pass 2: every logit >= threshold becomes a candidate with its weight exp(-(max - v) * scale /
 * STEPS_PER_UNIT) and its exp-table bucket; those >= probeThreshold are also noted in the probe.
 * Returns the candidate count; the total weight and probe size go to the workspace. Kept apart
 * from its caller so that V8 inlines the exp into this loop: called out of line, each returned
 * double would be boxed, costing several times the arithmetic.
 */
function collectCandidates(
  row: Float32Array,
  threshold: number,
  max: number,
  scale: number,
  probeThreshold: number,
  ws: SamplingWorkspace,
): number {
  const { ids, weights, probe, buckets } = ws;
  let n = 0;
  let probeCount = 0;
  let mass = 0;
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (v >= threshold) {
      const scaled = (max - v) * scale;
      const w = expNegativeScaled(scaled);
      ids[n] = i;
      weights[n] = w;
      // The exp-table index (the Uint16Array store truncates, as the table lookup does) orders
      // weights coarsely; top_p's general path buckets by it.
      buckets[n] = scaled;
      mass += w;
      if (v >= probeThreshold) probe[probeCount++] = n;
      n++;
    }
  }
  ws.candidateMass = mass;
  ws.probeCount = probeCount;
  return n;
}

/** The first candidate whose cumulative weight passes `target`. */
function walk(ids: Int32Array, weights: Float64Array, n: number, target: number): number {
  let cumulative = 0;
  for (let j = 0; j < n; j++) {
    cumulative += weights[j];
    if (cumulative > target) return ids[j];
  }
  // Rounding left the target a hair past the last weight.
  return ids[n - 1];
}
