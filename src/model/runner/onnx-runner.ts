import ort from 'onnxruntime-node';
import { ForwardStepError, type ForwardStep, type ModelRunner, type RunnerInfo } from '../model-runner.js';
import { defaultIntraOpThreads } from './cpu-features.js';
import { halfToFloat } from './fp16.js';
import { type KvArray, KvPool } from './kv-pool.js';
import { openSession, type SessionConfig, type SpinPolicy } from './open-session.js';
import { checkPrefillGraph, describeSession, type SessionIO, type TokenIdType } from './session-io.js';

export interface OnnxRunnerConfig extends SessionConfig {
  onnxPath: string;
  /** A second graph for steps that add more than one token per row (prefill chunks); see PrefillGraph. */
  prefillOnnxPath?: string;
  maxSeqs: number;
  /** Positions per KV row; at most the context length the model was exported for. */
  maxLen: number;
}

/** One loaded graph and the contract its session reports. */
interface DecoderGraph {
  session: ort.InferenceSession;
  io: SessionIO;
}

/**
 * Runs an onnxruntime-genai style decoder (input_ids, attention_mask, past_key_values.N.* ->
 * logits, present.N.*) over a KV pool it owns. Input names, id widths, KV precision and shapes
 * come from the session's metadata, so builder exports, this project's exports and fp16 test
 * models load alike.
 *
 * With a prefill graph (an export's prefill.onnx), the graph is chosen by phase: steps that add
 * more than one token per row (prefill chunks) run through it, single-token steps (decodes)
 * through the main graph. The choice depends only on the step's own width, never on how many
 * other rows share it, and both graphs compute each row independently of the others, so a row's
 * result stays batch invariant.
 */
export class OnnxRunner implements ModelRunner {
  readonly info: RunnerInfo;
  private readonly decode: DecoderGraph;
  private readonly prefill: DecoderGraph | null;
  private readonly kv: KvPool;
  /** onnxruntime intra-op threads per session: the configured count, else one per physical core. */
  readonly threads: number;
  /** How those threads wait between operators (see defaultSpinPolicy). */
  readonly spinning: SpinPolicy;

  private constructor(decode: DecoderGraph, prefill: DecoderGraph | null, kv: KvPool, threads: number, spinning: SpinPolicy) {
    this.threads = threads;
    this.spinning = spinning;
    this.decode = decode;
    this.prefill = prefill;
    this.kv = kv;
    const io = decode.io;
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
    return this.decode.io.kvOutputs;
  }

  /** How the KV cache is held: float32, float16 or int8 codes with scales (see KvCacheType). */
  get kvCacheType(): SessionIO['kvType'] {
    return this.decode.io.kvType;
  }

  /** Whether prefill chunks run through a separate prefill graph. */
  get hasPrefillGraph(): boolean {
    return this.prefill !== null;
  }

  static async open(config: OnnxRunnerConfig): Promise<OnnxRunner> {
    // Threads are always set: onnxruntime's own default ran one thread on a 2-vCPU VM.
    const threads = config.threads ?? defaultIntraOpThreads();
    const spinning = config.spinning ?? defaultSpinPolicy(config.prefillOnnxPath !== undefined);
    const sessionConfig = { ...config, threads, spinning };
    const opened: ort.InferenceSession[] = [];
    try {
      const decode = await openGraph(config.onnxPath, sessionConfig, opened);
      const prefill = config.prefillOnnxPath === undefined ? null : await openGraph(config.prefillOnnxPath, sessionConfig, opened);
      if (prefill) checkPrefillGraph(decode.io, prefill.io);
      const kv = new KvPool({ ...decode.io, maxSeqs: config.maxSeqs, maxLen: config.maxLen });
      return new OnnxRunner(decode, prefill, kv, threads, spinning);
    } catch (err) {
      await Promise.all(opened.map((session) => session.release()));
      throw err;
    }
  }

  async forward(step: ForwardStep): Promise<Float32Array> {
    const { firstRow, tokens, pastLengths } = step;
    const rows = tokens.length;
    const newTokens = this.validate(step);
    const { session, io } = newTokens > 1 && this.prefill ? this.prefill : this.decode;
    // The mask spans the longest row; shorter rows are right-padded with zeros, which is how
    // GroupQueryAttention learns each row's length (seqlens_k = sum(mask) - 1).
    const total = Math.max(...pastLengths) + newTokens;
    const mask = new BigInt64Array(rows * total);
    const ids = tokenTensorData(io.inputIdsType, rows * newTokens);
    const positions = io.hasPositionIds ? tokenTensorData(io.positionIdsType, rows * newTokens) : undefined;
    for (let r = 0; r < rows; r++) {
      mask.fill(1n, r * total, r * total + pastLengths[r] + newTokens);
      for (let s = 0; s < newTokens; s++) {
        setId(ids, r * newTokens + s, tokens[r][s]);
        if (positions) setId(positions, r * newTokens + s, pastLengths[r] + s);
      }
    }

    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor(io.inputIdsType, ids, [rows, newTokens]),
      attention_mask: new ort.Tensor('int64', mask, [rows, total]),
    };
    if (positions) feeds.position_ids = new ort.Tensor(io.positionIdsType, positions, [rows, newTokens]);
    // 'present' graphs: the same tensors as past feeds and present fetches, so GQA appends to the
    // cache in place. 'new-positions' graphs: the cache is only fed; the new positions come back
    // as small outputs that are stored below.
    const inPlace = io.kvOutputs === 'present';
    const fetches: Record<string, ort.Tensor | null> = { logits: null };
    this.kv.reserve(total);
    const view = this.kv.view(firstRow, rows);
    for (let l = 0; l < io.numLayers; l++) {
      const outputNames = io.outputNames(l);
      io.pastNames(l).forEach((name, plane) => {
        feeds[name] = view[l][plane];
        fetches[outputNames[plane]] = inPlace ? view[l][plane] : null;
      });
    }
    const outputs = await session.run(feeds, fetches);
    if (!inPlace) {
      for (let l = 0; l < io.numLayers; l++) {
        const planes = io.outputNames(l).map((name) => outputs[name]);
        this.kv.writeNewPositions(l, firstRow, pastLengths, planes.map((tensor) => tensor.data as KvArray));
        for (const tensor of planes) tensor.dispose();
      }
    }
    this.kv.noteWritten(firstRow, pastLengths.map((past) => past + newTokens));
    return lastPositionLogits(io, outputs.logits, rows, io.lastPositionLogits ? 1 : newTokens);
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
    await this.decode.session.release();
    await this.prefill?.session.release();
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

}

/**
 * One session: onnxruntime's default (spin). Two sessions (a prefill graph) take turns on the same
 * cores, and threads still spinning after one session's run take cycles from the other's (measured
 * earlier: medians 2-9x the minimum), so they never spin. Spinning only within a run ('within-run')
 * measured the same as 'never' on a 2-core Zen 3, within that machine's noise (BENCHMARKS.md).
 */
export function defaultSpinPolicy(twoSessions: boolean): SpinPolicy {
  return twoSessions ? 'never' : 'always';
}

/** logits [rows, newTokens, vocab] (newTokens 1 for a last-position graph) -> the last position of each row as fp32 [rows, vocab]. */
function lastPositionLogits(io: SessionIO, logits: ort.Tensor, rows: number, newTokens: number): Float32Array {
  const vocab = io.vocabSize;
  // A single-token fp32 step already has exactly the wanted layout: hand it over as is.
  if (newTokens === 1 && io.logitsType === 'float32') return logits.data as Float32Array;
  const out = new Float32Array(rows * vocab);
  for (let r = 0; r < rows; r++) {
    const begin = (r * newTokens + newTokens - 1) * vocab;
    if (io.logitsType === 'float16') {
      halfToFloat((logits.data as Uint16Array).subarray(begin, begin + vocab), out.subarray(r * vocab, (r + 1) * vocab));
    } else {
      out.set((logits.data as Float32Array).subarray(begin, begin + vocab), r * vocab);
    }
  }
  logits.dispose();
  return out;
}

async function openGraph(onnxPath: string, config: SessionConfig, opened: ort.InferenceSession[]): Promise<DecoderGraph> {
  const session = await openSession(onnxPath, config);
  opened.push(session);
  return { session, io: describeSession(session) };
}

type TokenArray = Int32Array | BigInt64Array;

function tokenTensorData(type: TokenIdType, length: number): TokenArray {
  return type === 'int32' ? new Int32Array(length) : new BigInt64Array(length);
}

function setId(array: TokenArray, index: number, value: number): void {
  if (array instanceof BigInt64Array) array[index] = BigInt(value);
  else array[index] = value;
}
