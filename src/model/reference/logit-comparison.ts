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

export function compareLogits(reference: Float32Array, other: Float32Array, vocabSize: number): LogitAgreement {
  if (reference.length !== other.length || reference.length % vocabSize !== 0) {
    throw new Error(`compareLogits: ${reference.length} and ${other.length} values are not matching rows of ${vocabSize}`);
  }
  const rows = reference.length / vocabSize;
  let maxAbsDifference = 0;
  let agreeing = 0;
  let klSum = 0;
  let maxKl = 0;
  for (let r = 0; r < rows; r++) {
    const p = reference.subarray(r * vocabSize, (r + 1) * vocabSize);
    const q = other.subarray(r * vocabSize, (r + 1) * vocabSize);
    for (let i = 0; i < vocabSize; i++) maxAbsDifference = Math.max(maxAbsDifference, Math.abs(p[i] - q[i]));
    if (argmax(p) === argmax(q)) agreeing++;
    const kl = klDivergence(p, q);
    klSum += kl;
    maxKl = Math.max(maxKl, kl);
  }
  return {
    rows,
    maxAbsDifference,
    top1Agreement: agreeing / rows,
    meanKlDivergence: klSum / rows,
    maxKlDivergence: maxKl,
  };
}

/** Index of the largest logit (the first one on ties). */
export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/**
 * KL(P || Q) in nats where P = softmax(pLogits), Q = softmax(qLogits), computed from log-sum-exps
 * in doubles: sum_i P_i * ((p_i - lseP) - (q_i - lseQ)).
 */
export function klDivergence(pLogits: Float32Array, qLogits: Float32Array): number {
  const lseP = logSumExp(pLogits);
  const lseQ = logSumExp(qLogits);
  let kl = 0;
  for (let i = 0; i < pLogits.length; i++) {
    const logP = pLogits[i] - lseP;
    kl += Math.exp(logP) * (logP - (qLogits[i] - lseQ));
  }
  // Rounding can leave a tiny negative value when the distributions are equal.
  return Math.max(0, kl);
}

function logSumExp(logits: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return max + Math.log(sum);
}
