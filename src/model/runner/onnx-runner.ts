import ort from 'onnxruntime-node';
import { ForwardStepError, type ForwardStep, type ModelRunner, type RunnerInfo } from '../model-runner.js';
import { halfToFloat } from './fp16.js';
import { type KvArray, KvPool } from './kv-pool.js';
import { openSession, type SessionConfig } from './open-session.js';
import { describeSession, type SessionIO, type TokenIdType } from './session-io.js';

export interface OnnxRunnerConfig extends SessionConfig {
  onnxPath: string;
  maxSeqs: number;
  /** Positions per KV row; at most the context length the model was exported for. */
  maxLen: number;
}

/**
 * Runs an onnxruntime-genai style decoder (input_ids, attention_mask, past_key_values.N.* ->
 * logits, present.N.*) over a KV pool it owns. Input names, id widths, KV precision and shapes
 * come from the session's metadata, so builder exports, this project's exports and fp16 test
 * models load alike.
 */
export class OnnxRunner implements ModelRunner {
  readonly info: RunnerInfo;
  private readonly session: ort.InferenceSession;
  private readonly io: SessionIO;
  private readonly kv: KvPool;

  private constructor(session: ort.InferenceSession, io: SessionIO, kv: KvPool) {
    this.session = session;
    this.io = io;
    this.kv = kv;
    this.info = {
      vocabSize: io.vocabSize,
      numLayers: io.numLayers,
      kvHeads: io.kvHeads,
      headDim: io.headDim,
      maxSeqs: kv.shape.maxSeqs,
      maxLen: kv.shape.maxLen,
      kvBytesPerToken: kv.bytesPerToken,
      kvReservedBytes: kv.reservedBytes,
    };
  }

  /** How the graph returns KV (see SessionIO.kvOutputs); the server logs and exports it. */
  get kvOutputs(): SessionIO['kvOutputs'] {
    return this.io.kvOutputs;
  }

  static async open(config: OnnxRunnerConfig): Promise<OnnxRunner> {
    const session = await openSession(config.onnxPath, config);
    try {
      const io = describeSession(session);
      const kv = new KvPool({ ...io, maxSeqs: config.maxSeqs, maxLen: config.maxLen });
      return new OnnxRunner(session, io, kv);
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  async forward(step: ForwardStep): Promise<Float32Array> {
    const { firstRow, tokens, pastLengths } = step;
    const rows = tokens.length;
    const newTokens = this.validate(step);
    // The mask spans the longest row; shorter rows are right-padded with zeros, which is how
    // GroupQueryAttention learns each row's length (seqlens_k = sum(mask) - 1).
    const total = Math.max(...pastLengths) + newTokens;
    const mask = new BigInt64Array(rows * total);
    const ids = tokenTensorData(this.io.inputIdsType, rows * newTokens);
    const positions = this.io.hasPositionIds ? tokenTensorData(this.io.positionIdsType, rows * newTokens) : undefined;
    for (let r = 0; r < rows; r++) {
      mask.fill(1n, r * total, r * total + pastLengths[r] + newTokens);
      for (let s = 0; s < newTokens; s++) {
        setId(ids, r * newTokens + s, tokens[r][s]);
        if (positions) setId(positions, r * newTokens + s, pastLengths[r] + s);
      }
    }

    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor(this.io.inputIdsType, ids, [rows, newTokens]),
      attention_mask: new ort.Tensor('int64', mask, [rows, total]),
    };
    if (positions) feeds.position_ids = new ort.Tensor(this.io.positionIdsType, positions, [rows, newTokens]);
    // 'present' graphs: the same tensors as past feeds and present fetches, so GQA appends to the
    // cache in place. 'new-positions' graphs: the cache is only fed; the new positions come back
    // as small outputs that are stored below.
    const inPlace = this.io.kvOutputs === 'present';
    const fetches: Record<string, ort.Tensor | null> = { logits: null };
    this.kv.reserve(total);
    const view = this.kv.view(firstRow, rows);
    for (let l = 0; l < this.io.numLayers; l++) {
      feeds[this.io.pastKey(l)] = view.keys[l];
      feeds[this.io.pastValue(l)] = view.values[l];
      fetches[this.io.outputKey(l)] = inPlace ? view.keys[l] : null;
      fetches[this.io.outputValue(l)] = inPlace ? view.values[l] : null;
    }
    const outputs = await this.session.run(feeds, fetches);
    if (!inPlace) {
      for (let l = 0; l < this.io.numLayers; l++) {
        const [key, value] = [outputs[this.io.outputKey(l)], outputs[this.io.outputValue(l)]];
        this.kv.writeNewPositions(l, firstRow, pastLengths, key.data as KvArray, value.data as KvArray);
        key.dispose();
        value.dispose();
      }
    }
    this.kv.noteWritten(firstRow, pastLengths.map((past) => past + newTokens));
    return this.lastPositionLogits(outputs.logits, rows, newTokens);
  }

  copyRow(from: number, to: number, length: number): void {
    this.kv.copyRow(from, to, length);
  }

  swapRows(a: number, b: number, length: number): void {
    this.kv.swapRows(a, b, length);
  }

  releaseRow(row: number): void {
    this.kv.releaseRow(row);
  }

  async close(): Promise<void> {
    await this.session.release();
  }

  /** Checks the step against the pool and GQA's rules; returns S, the new tokens per row. */
  private validate({ firstRow, tokens, pastLengths }: ForwardStep): number {
    const rows = tokens.length;
    if (rows === 0) throw new ForwardStepError('a forward step needs at least one row');
    if (pastLengths.length !== rows) throw new ForwardStepError('tokens and pastLengths differ in row count');
    if (firstRow < 0 || firstRow + rows > this.info.maxSeqs) {
      throw new ForwardStepError(`rows [${firstRow}, ${firstRow + rows}) exceed the pool of ${this.info.maxSeqs}`);
    }
    const newTokens = tokens[0].length;
    if (newTokens === 0 || tokens.some((t) => t.length !== newTokens)) {
      throw new ForwardStepError('every row of a step must add the same, non-zero number of tokens');
    }
    if (newTokens > 1 && rows > 1 && pastLengths.some((p) => p > 0)) {
      throw new ForwardStepError('several tokens onto a non-empty past run one row at a time');
    }
    for (let r = 0; r < rows; r++) {
      if (pastLengths[r] + newTokens > this.info.maxLen) {
        throw new ForwardStepError(`row ${firstRow + r} would hold ${pastLengths[r] + newTokens} positions; rows hold ${this.info.maxLen}`);
      }
    }
    return newTokens;
  }

  /** logits [rows, newTokens, vocab] -> the last position of each row as fp32 [rows, vocab]. */
  private lastPositionLogits(logits: ort.Tensor, rows: number, newTokens: number): Float32Array {
    const vocab = this.io.vocabSize;
    // A single-token fp32 step already has exactly the wanted layout: hand it over as is.
    if (newTokens === 1 && this.io.logitsType === 'float32') return logits.data as Float32Array;
    const out = new Float32Array(rows * vocab);
    for (let r = 0; r < rows; r++) {
      const begin = (r * newTokens + newTokens - 1) * vocab;
      if (this.io.logitsType === 'float16') {
        halfToFloat((logits.data as Uint16Array).subarray(begin, begin + vocab), out.subarray(r * vocab, (r + 1) * vocab));
      } else {
        out.set((logits.data as Float32Array).subarray(begin, begin + vocab), r * vocab);
      }
    }
    logits.dispose();
    return out;
  }
}

type TokenArray = Int32Array | BigInt64Array;

function tokenTensorData(type: TokenIdType, length: number): TokenArray {
  return type === 'int32' ? new Int32Array(length) : new BigInt64Array(length);
}

function setId(array: TokenArray, index: number, value: number): void {
  if (array instanceof BigInt64Array) array[index] = BigInt(value);
  else array[index] = value;
}
