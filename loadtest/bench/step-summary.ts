import type { StepReport } from '../../src/engine/step-report.js';

/** What a run of engine steps says about speed and overhead. Zeros when there were no steps. */
export interface StepSummary {
  steps: number;
  /** Tokens sampled over these steps. */
  generatedTokens: number;
  /** From the first step's start to the last step's end, ms (includes the gaps between steps). */
  spanMs: number;
  /** generatedTokens over spanMs. */
  decodeTokPerSec: number;
  medianStepMs: number;
  medianForwardMs: number;
  /**
   * The engine's own time inside step() but outside the forward pass (schedule, row moves,
   * sampling, detokenizing, stop checks, events): sum(durationMs - forwardMs) / sum(durationMs).
   */
  overheadShare: number;
  medianOverheadMs: number;
  /**
   * The worker loop's time between steps (posting events, yielding to messages) as a share of
   * the span: what StepReport.durationMs does not see.
   */
  gapShare: number;
}

/** Summarises consecutive-in-time steps; meaningful for a steady state such as full-batch decode. */
export function summarizeSteps(reports: StepReport[]): StepSummary {
  if (reports.length === 0) {
    return { steps: 0, generatedTokens: 0, spanMs: 0, decodeTokPerSec: 0, medianStepMs: 0, medianForwardMs: 0, overheadShare: 0, medianOverheadMs: 0, gapShare: 0 };
  }
  const first = reports[0];
  const last = reports[reports.length - 1];
  const spanMs = last.startedAt + last.durationMs - first.startedAt;
  const generatedTokens = sum(reports.map((r) => r.generatedTokens));
  const stepMs = sum(reports.map((r) => r.durationMs));
  return {
    steps: reports.length,
    generatedTokens,
    spanMs,
    decodeTokPerSec: (generatedTokens * 1000) / spanMs,
    medianStepMs: median(reports.map((r) => r.durationMs)),
    medianForwardMs: median(reports.map((r) => r.forwardMs)),
    overheadShare: (stepMs - sum(reports.map((r) => r.forwardMs))) / stepMs,
    medianOverheadMs: median(reports.map((r) => r.durationMs - r.forwardMs)),
    gapShare: (spanMs - stepMs) / spanMs,
  };
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
