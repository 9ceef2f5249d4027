import type { SamplingParams } from './sampling-params.js';
import type { SamplingWorkspace } from './sampling-workspace.js';
import type { TokenHistory } from './token-history.js';

/**
 * The per-request changes to logits that act on a few known tokens: minTokens' ban on stop
 * tokens, logitBias, and the repetition, frequency and presence penalties. They are written into
 * the row in place (copying 151936 floats per row would cost more than sampling) and undone
 * afterwards, so the caller's logits come back unchanged.
 *
 * Stages run in vLLM's order (ban, bias, repetition, frequency and presence), each touching an id
 * at most once, so every token gets the same composition of edits. The first time an id is
 * touched its original value is saved; the workspace's stamp array tells "saved already" in O(1).
 */
export class LogitEdits {
  private readonly savedIds: number[] = [];
  private readonly savedValues: number[] = [];
  private epoch = 0;

  apply(
    row: Float32Array,
    params: SamplingParams,
    history: TokenHistory,
    banned: ReadonlySet<number>,
    ws: SamplingWorkspace,
  ): void {
    ws.reserve(row.length);
    this.epoch = ws.nextEditEpoch();
    const inRow = (id: number) => id < row.length;

    for (const id of banned) {
      if (inRow(id)) this.set(row, ws, id, -Infinity);
    }
    for (const [id, bias] of params.logitBias) {
      if (inRow(id)) this.set(row, ws, id, row[id] + bias);
    }
    const r = params.repetitionPenalty;
    if (r !== 1) {
      const penalise = (id: number) => {
        if (inRow(id)) this.set(row, ws, id, row[id] > 0 ? row[id] / r : row[id] * r);
      };
      for (const id of history.promptTokens) penalise(id);
      for (const id of history.outputCounts.keys()) if (!history.promptTokens.has(id)) penalise(id);
    }
    const { frequencyPenalty, presencePenalty } = params;
    if (frequencyPenalty !== 0 || presencePenalty !== 0) {
      for (const [id, count] of history.outputCounts) {
        if (inRow(id)) this.set(row, ws, id, row[id] - (frequencyPenalty * count + presencePenalty));
      }
    }
  }

  private set(row: Float32Array, ws: SamplingWorkspace, id: number, value: number): void {
    if (ws.editStamp[id] !== this.epoch) {
      ws.editStamp[id] = this.epoch;
      this.savedIds.push(id);
      this.savedValues.push(row[id]);
    }
    row[id] = value;
  }

  /** Puts back every value `apply` changed. */
  undo(row: Float32Array): void {
    for (let i = 0; i < this.savedIds.length; i++) row[this.savedIds[i]] = this.savedValues[i];
    this.savedIds.length = 0;
    this.savedValues.length = 0;
  }
}
