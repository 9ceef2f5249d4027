/**
 * The engine's view of a model: a forward pass over rows of a KV-cache pool. The ONNX runner
 * implements it; engine tests can implement it with a fake. Everything here is per step; policy
 * (which rows, which tokens) belongs to the engine and scheduler.
 */
export interface ModelRunner {
  readonly info: RunnerInfo;
  /**
   * Runs the model on rows [firstRow, firstRow + tokens.length) of the KV pool, appending each
   * row's tokens after its `pastLengths[i]` cached positions, and returns the logits of each row's
   * last new position: [rows, vocabSize], fp32.
   *
   * Every row gets the same number of new tokens S. Rows may differ in past length (they are
   * right-padded), but S > 1 onto a non-empty past needs a single row: onnxruntime's
   * GroupQueryAttention only handles ragged rows for single-token steps.
   */
  forward(step: ForwardStep): Promise<Float32Array>;
  /** Copies a row's first `length` KV positions to another row (keeps live rows packed). */
  copyRow(from: number, to: number, length: number): void;
  /** Exchanges the first `length` KV positions of two rows. */
  swapRows(a: number, b: number, length: number): void;
  /** The row holds no sequence any more: its positions need not be kept. */
  releaseRow(row: number): void;
  close(): Promise<void>;
}

export interface ForwardStep {
  firstRow: number;
  /** New token ids, one array per row, all of the same length. */
  tokens: number[][];
  /** KV positions already written in each row. */
  pastLengths: number[];
}

export interface RunnerInfo {
  vocabSize: number;
  numLayers: number;
  kvHeads: number;
  headDim: number;
  /** Rows in the KV pool. */
  maxSeqs: number;
  /** Positions per row. */
  maxLen: number;
  /** KV bytes per token across all layers. */
  kvBytesPerToken: number;
  /** Address space reserved for the KV pool. */
  kvReservedBytes: number;
}

export class ForwardStepError extends Error {
  override name = 'ForwardStepError';
}
