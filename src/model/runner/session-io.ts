import type { InferenceSession } from 'onnxruntime-node';
import { type KvCacheType, kvPlanes } from './kv-pool.js';

/** Element types the runner can feed as token ids and hold as KV cache / read as logits. */
export type TokenIdType = 'int32' | 'int64';
export type FloatType = 'float32' | 'float16';

/**
 * The contract of a decoder graph as its session reports it: the runner builds feeds from this
 * and nothing else, so exports that differ in id width, KV precision or optional inputs load
 * through one code path.
 */
export interface SessionIO {
  inputIdsType: TokenIdType;
  /** True when the graph takes explicit `position_ids` (rotary not derived from the mask). */
  hasPositionIds: boolean;
  positionIdsType: TokenIdType;
  numLayers: number;
  kvHeads: number;
  headDim: number;
  /** float32/float16, or 'int8': int8 key (transposed) and value codes with float32 scales per position and head. */
  kvType: KvCacheType;
  /**
   * An int8 cache's keys in blocks of this many positions, [batch, kvHeads, blocks, headDim, N]
   * (the graph's key input has rank 5), or 0: transposed whole, [batch, kvHeads, headDim, pastLength].
   */
  keyBlock: number;
  logitsType: FloatType;
  vocabSize: number;
  /**
   * How the graph returns the KV it computes: 'present' outputs span the whole cache (GQA appends
   * in place into the fed buffers: the model builder's layout); 'new-positions' outputs hold only
   * the step's new positions, [batch, kvHeads, sequence_length, headDim], for the runner to store.
   */
  kvOutputs: 'present' | 'new-positions';
  /** logits hold only each row's last position ([B, 1, vocab], a prefill graph) instead of every new one. */
  lastPositionLogits: boolean;
  /** The layer's cache inputs in KvPool's plane order: key, value (then key_scale, value_scale for int8). */
  pastNames(layer: number): string[];
  /** The layer's KV outputs in the same order: `present.N.*` or `new_key_values.N.*`, by kvOutputs. */
  outputNames(layer: number): string[];
}

export class UnsupportedGraphError extends Error {
  override name = 'UnsupportedGraphError';
}

const PAST = /^past_key_values\.(\d+)\.(key|value|key_scale|value_scale)$/;
const KNOWN_INPUTS = new Set(['input_ids', 'attention_mask', 'position_ids']);

export function describeSession(
  session: Pick<InferenceSession, 'inputMetadata' | 'outputMetadata'>,
): SessionIO {
  const inputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const outputs = new Map(session.outputMetadata.map((m) => [m.name, m]));

  const unknown = [...inputs.keys()].filter((n) => !KNOWN_INPUTS.has(n) && !PAST.test(n));
  if (unknown.length > 0) {
    throw new UnsupportedGraphError(`the graph has inputs this runner cannot feed: ${unknown.join(', ')}`);
  }
  const inputIds = tensorMeta(inputs.get('input_ids'), 'input input_ids');
  tensorMeta(inputs.get('attention_mask'), 'input attention_mask');
  const positionIds = inputs.get('position_ids');
  const logits = tensorMeta(outputs.get('logits'), 'output logits');

  const numLayers = [...inputs.keys()].filter((n) => PAST.exec(n)?.[2] === 'key').length;
  if (numLayers === 0) throw new UnsupportedGraphError('the graph has no past_key_values inputs');
  const key0 = tensorMeta(inputs.get('past_key_values.0.key'), 'input past_key_values.0.key');
  // Values are [batch, kvHeads, pastLength, headDim] in every layout (an int8 cache's keys are transposed).
  const value0 = tensorMeta(inputs.get('past_key_values.0.value'), 'input past_key_values.0.value');
  // [batch, kvHeads, pastLength, headDim]: heads and head size are the two static dims.
  const [, kvHeads, , headDim] = value0.shape;
  if (typeof kvHeads !== 'number' || typeof headDim !== 'number') {
    throw new UnsupportedGraphError(
      `past_key_values.0.value must have static kv-head and head-size dims, got [${value0.shape.join(', ')}]`,
    );
  }
  const kvOutputs = outputs.has('present.0.key') ? 'present' : 'new-positions';
  const outputPrefix = kvOutputs === 'present' ? 'present' : 'new_key_values';
  const vocabSize = logits.shape[2];
  if (typeof vocabSize !== 'number') throw new UnsupportedGraphError('logits must have a static vocab dim');
  const int8 = inputs.has('past_key_values.0.key_scale');
  if (int8 && kvOutputs !== 'new-positions') throw new UnsupportedGraphError('an int8 KV cache needs new_key_values outputs, not presents');
  const planeNames = int8 ? ['key', 'value', 'key_scale', 'value_scale'] : ['key', 'value'];
  const keyBlock = int8 && key0.shape.length === 5 ? key0.shape[4] : 0;
  if (typeof keyBlock !== 'number' || keyBlock < 0) {
    throw new UnsupportedGraphError(`past_key_values.0.key must have a static block dim, got [${key0.shape.join(', ')}]`);
  }

  const io: SessionIO = {
    inputIdsType: tokenIdType(inputIds.type, 'input_ids'),
    hasPositionIds: positionIds !== undefined,
    positionIdsType: positionIds ? tokenIdType(tensorMeta(positionIds, 'position_ids').type, 'position_ids') : 'int64',
    numLayers,
    kvHeads,
    headDim,
    kvType: int8 ? 'int8' : floatType(key0.type, 'past_key_values.0.key'),
    keyBlock,
    logitsType: floatType(logits.type, 'logits'),
    vocabSize,
    kvOutputs,
    lastPositionLogits: logits.shape[1] === 1,
    pastNames: (l) => planeNames.map((plane) => `past_key_values.${l}.${plane}`),
    outputNames: (l) => planeNames.map((plane) => `${outputPrefix}.${l}.${plane}`),
  };
  // Every layer's cache inputs and KV outputs of one plane have the type the pool holds it in.
  const expected = kvPlanes(io.kvType, headDim).map((plane) => plane.type);
  for (let l = 0; l < numLayers; l++) {
    for (const [kind, metadata, names] of [['input', inputs, io.pastNames(l)], ['output', outputs, io.outputNames(l)]] as const) {
      names.forEach((name, plane) => {
        const type = tensorMeta(metadata.get(name), `${kind} ${name}`).type;
        if (type !== expected[plane]) throw new UnsupportedGraphError(`${name} has dtype ${type}; expected ${expected[plane]}`);
      });
    }
  }
  return io;
}

type TensorMeta = Extract<InferenceSession.ValueMetadata, { isTensor: true }>;

function tensorMeta(meta: InferenceSession.ValueMetadata | undefined, what: string): TensorMeta {
  if (!meta) throw new UnsupportedGraphError(`the graph has no ${what}`);
  if (!meta.isTensor) throw new UnsupportedGraphError(`${what} is not a tensor`);
  return meta;
}

function tokenIdType(type: string, name: string): TokenIdType {
  if (type === 'int32' || type === 'int64') return type;
  throw new UnsupportedGraphError(`${name} has dtype ${type}; expected int32 or int64`);
}

function floatType(type: string, name: string): FloatType {
  if (type === 'float32' || type === 'float16') return type;
  throw new UnsupportedGraphError(`${name} has dtype ${type}; expected float32 or float16`);
}

/**
 * A prefill graph runs beside the decode graph over the same KV pool, so it must read and write
 * the same cache: same layers, heads, head size and element types, and new-position outputs (the
 * pool is fed, never aliased, so the two sessions never share an output buffer).
 */
export function checkPrefillGraph(decode: SessionIO, prefill: SessionIO): void {
  const fields = ['inputIdsType', 'numLayers', 'kvHeads', 'headDim', 'kvType', 'keyBlock', 'vocabSize'] as const;
  const differing = fields.filter((field) => decode[field] !== prefill[field]);
  if (differing.length > 0) {
    throw new UnsupportedGraphError(`the prefill graph differs from the decode graph in ${differing.map((f) => `${f} (${prefill[f]} vs ${decode[f]})`).join(', ')}`);
  }
  if (decode.kvOutputs !== 'new-positions' || prefill.kvOutputs !== 'new-positions') {
    throw new UnsupportedGraphError("a prefill graph needs both graphs to output new KV positions ('new-positions'), not presents");
  }
}
