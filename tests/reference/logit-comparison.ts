/**
 * Measures how far one model's logits are from the reference's, row by row over [rows, vocab]:
 * the numbers the ONNX-vs-reference tests set thresholds on.
 */
export interface LogitAgreement {
  rows: number;
  /** Largest |reference - other| over every logit. */
  maxAbsDifference: number;
  /** Fraction of rows whose argmax (greedy next token) is the same. */
  top1Agreement: number;
  /** Mean over rows of KL(reference || other) in nats, on the softmax of each row. */
  meanKlDivergence: number;
  /** Largest per-row KL(reference || other) in nats. */
  maxKlDivergence: number;
}

/** The comparison of one row (one position). */
export interface LogitRowComparison {
  maxAbsDifference: number;
  sameArgmax: boolean;
  klDivergence: number;
}

/** Compares every row of reference and other [rows, vocab] and summarizes. */
export function compareLogits(reference: Float32Array, other: Float32Array, vocabSize: number): LogitAgreement {
  return summarizeRows(compareLogitRows(reference, other, vocabSize));
}

/** One comparison per row of reference and other [rows, vocab], for summaries over any range. */
export function compareLogitRows(reference: Float32Array, other: Float32Array, vocabSize: number): LogitRowComparison[] {
  if (reference.length !== other.length || reference.length % vocabSize !== 0) {
    throw new Error(`compareLogits: ${reference.length} and ${other.length} values are not matching rows of ${vocabSize}`);
  }
  const rows = reference.length / vocabSize;
  const comparisons: LogitRowComparison[] = [];
  for (let r = 0; r < rows; r++) {
    const p = reference.subarray(r * vocabSize, (r + 1) * vocabSize);
    const q = other.subarray(r * vocabSize, (r + 1) * vocabSize);
    let maxAbsDifference = 0;
    for (let i = 0; i < vocabSize; i++) maxAbsDifference = Math.max(maxAbsDifference, Math.abs(p[i] - q[i]));
    comparisons.push({ maxAbsDifference, sameArgmax: argmax(p) === argmax(q), klDivergence: klDivergence(p, q) });
  }
  return comparisons;
}

export function summarizeRows(rows: readonly LogitRowComparison[]): LogitAgreement {
  if (rows.length === 0) throw new Error('summarizeRows: no rows');
  return {
    rows: rows.length,
    maxAbsDifference: Math.max(...rows.map((r) => r.maxAbsDifference)),
    top1Agreement: rows.filter((r) => r.sameArgmax).length / rows.length,
    meanKlDivergence: rows.reduce((sum, r) => sum + r.klDivergence, 0) / rows.length,
    maxKlDivergence: Math.max(...rows.map((r) => r.klDivergence)),
  };
}

/** Index of the largest logit (the first one on ties). */
export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/**
 * KL(P || Q) in nats where P = softmax(pLogits), Q = softmax(qLogits), in doubles:
 *   sum_i P_i * ((p_i - lseP) - (q_i - lseQ)),  lse = log-sum-exp of the row.
 */
export function klDivergence(pLogits: Float32Array, qLogits: Float32Array): number {
  const maxP = rowMax(pLogits);
  const maxQ = rowMax(qLogits);
  // exp(p_i - maxP) is needed twice (for the normalizer and as P_i): keep it.
  const weights = new Float64Array(pLogits.length);
  let sumP = 0;
  let sumQ = 0;
  for (let i = 0; i < pLogits.length; i++) {
    weights[i] = Math.exp(pLogits[i] - maxP);
    sumP += weights[i];
    sumQ += Math.exp(qLogits[i] - maxQ);
  }
  const lseP = maxP + Math.log(sumP);
  const lseQ = maxQ + Math.log(sumQ);
  let weighted = 0;
  for (let i = 0; i < pLogits.length; i++) weighted += weights[i] * (pLogits[i] - lseP - (qLogits[i] - lseQ));
  // Rounding can leave a tiny negative value when the distributions are equal.
  return Math.max(0, weighted / sumP);
}

function rowMax(logits: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  return max;
}
