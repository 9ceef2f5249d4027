/**
 * exp(x) for x in [-NEGLIGIBLE_LOG_RATIO, 0], the only range softmax weights need once logits are
 * measured from their maximum. A table at steps of 1/64 and a 4th-degree Taylor term for the
 * remainder give a relative error below 1e-11, at about a third of Math.exp's cost in V8.
 */

/**
 * Tokens whose weight is below e^-30 of the most likely token's are left out of sampling and of
 * log-sum-exp. Even all 151936 of them together hold under 151936 * e^-30 = 1.4e-8 of the
 * probability mass (the top token alone holds weight 1), below float32's resolution of it.
 */
export const NEGLIGIBLE_LOG_RATIO = 30;

/** Table steps per unit of distance; `distance * STEPS_PER_UNIT`, truncated, is the table index. */
export const STEPS_PER_UNIT = 64;
const INVERSE_STEPS = 1 / STEPS_PER_UNIT;

/**
 * Table indices run 0..MAX_TABLE_INDEX: one past the index of distance NEGLIGIBLE_LOG_RATIO, a
 * spare for distances that rounding puts a hair beyond it. Callers bucketing by index size so.
 */
export const MAX_TABLE_INDEX = NEGLIGIBLE_LOG_RATIO * STEPS_PER_UNIT + 1;
const TABLE = new Float64Array(MAX_TABLE_INDEX + 1);
for (let i = 0; i < TABLE.length; i++) TABLE[i] = Math.exp(-i * INVERSE_STEPS);

/** exp(-distance) for 0 <= distance <= NEGLIGIBLE_LOG_RATIO (larger distances are not allowed). */
export function expNegative(distance: number): number {
  return expNegativeScaled(distance * STEPS_PER_UNIT);
}

/**
 * exp(-scaled / STEPS_PER_UNIT), for callers that already hold the scaled distance (and use its
 * truncation, the table index, as a bucket: weights in bucket b are above those in bucket b + 1).
 */
export function expNegativeScaled(scaled: number): number {
  const index = scaled | 0;
  // d in (-1/64, 0]: exp(-distance) = TABLE[index] * exp(d).
  const d = (index - scaled) * INVERSE_STEPS;
  return TABLE[index] * (1 + d * (1 + d * 0.5 * (1 + d * (1 / 3) * (1 + d * 0.25))));
}
