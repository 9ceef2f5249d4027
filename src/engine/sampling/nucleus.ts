import type { SamplingWorkspace } from './sampling-workspace.js';

/**
 * Top-p (nucleus) selection without sorting the candidates: the smallest set of most likely
 * tokens whose weights add up to at least `need` (top_p times the total). This is vLLM's rule: a
 * token is kept when the mass of the tokens more likely than it is below top_p. Both functions
 * record the kept mass in `workspace.keptMass`.
 */

function heavierFirst(ws: SamplingWorkspace, a: number, b: number): number {
  return ws.weights[b] - ws.weights[a] || ws.ids[a] - ws.ids[b];
}

/**
 * Fast path: the nucleus among the heaviest candidates only (`probe`, positions into the
 * candidate arrays, holding every candidate at least as likely as the lightest of them). In a
 * trained model's distribution the nucleus is usually a handful of tokens, so sorting these few
 * settles it. Sorts the probe heaviest first and returns how many of it form the nucleus, or -1
 * when even all of it does not reach `need`.
 */
export function nucleusFromProbe(ws: SamplingWorkspace, probeCount: number, need: number): number {
  const positions = Array.from(ws.probe.subarray(0, probeCount));
  positions.sort((a, b) => heavierFirst(ws, a, b));
  let mass = 0;
  for (let i = 0; i < positions.length; i++) {
    mass += ws.weights[positions[i]];
    ws.probe[i] = positions[i];
    if (mass >= need) {
      ws.keptMass = mass;
      return i + 1;
    }
  }
  return -1;
}

/**
 * General path, for flat distributions whose nucleus holds thousands of tokens. Candidates come
 * bucketed by their exp-table index (`ws.buckets`: 64 buckets per nat, heavier buckets first);
 * the buckets' masses are added from the top until they reach `need`, and only the one bucket
 * where that happens is sorted. Moves the nucleus to the front of the candidate arrays (in id
 * order, then the boundary bucket's chosen tokens) and returns its size.
 */
export function nucleusByBuckets(ws: SamplingWorkspace, n: number, need: number): number {
  const { ids, weights, buckets, bucketMass } = ws;
  bucketMass.fill(0);
  for (let j = 0; j < n; j++) bucketMass[buckets[j]] += weights[j];
  let boundary = 0;
  let before = 0;
  while (boundary < bucketMass.length - 1 && before + bucketMass[boundary] < need) before += bucketMass[boundary++];

  // The boundary bucket's candidates are copied out as they are met: compacting the kept ones
  // in place (kept <= j, so no unread kept candidate is overwritten) may overwrite them.
  const boundaryIds: number[] = [];
  const boundaryWeights: number[] = [];
  let kept = 0;
  for (let j = 0; j < n; j++) {
    const b = buckets[j];
    if (b < boundary) {
      ids[kept] = ids[j];
      weights[kept] = weights[j];
      kept++;
    } else if (b === boundary) {
      boundaryIds.push(ids[j]);
      boundaryWeights.push(weights[j]);
    }
  }
  const order = boundaryIds.map((_, i) => i);
  order.sort((a, b) => boundaryWeights[b] - boundaryWeights[a] || boundaryIds[a] - boundaryIds[b]);
  let mass = before;
  for (const i of order) {
    ids[kept] = boundaryIds[i];
    weights[kept] = boundaryWeights[i];
    kept++;
    mass += boundaryWeights[i];
    if (mass >= need) break;
  }
  ws.keptMass = mass;
  return kept;
}
