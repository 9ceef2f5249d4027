import type { Qwen3Shape } from '../../src/convert/shape.js';
import {
  EMBEDDING_WEIGHT,
  FINAL_NORM_WEIGHT,
  LM_HEAD_WEIGHT,
  expectedWeightDims,
  layerWeightNames,
  type WeightSource,
} from '../../src/convert/weights/weight-source.js';

/** One decoder layer's weights, fp32, in Hugging Face layout. */
export interface ReferenceLayerWeights {
  inputNorm: Float32Array; // [hidden]
  qProj: Float32Array; // [heads * headDim, hidden]
  kProj: Float32Array; // [kvHeads * headDim, hidden]
  vProj: Float32Array; // [kvHeads * headDim, hidden]
  oProj: Float32Array; // [hidden, heads * headDim]
  qNorm: Float32Array; // [headDim]
  kNorm: Float32Array; // [headDim]
  postAttentionNorm: Float32Array; // [hidden]
  gateProj: Float32Array; // [intermediate, hidden]
  upProj: Float32Array; // [intermediate, hidden]
  downProj: Float32Array; // [hidden, intermediate]
}

/** Every weight the reference pass uses, held in memory for the life of the model. */
export interface ReferenceWeights {
  embedding: Float32Array; // [vocab, hidden]
  finalNorm: Float32Array; // [hidden]
  /** [vocab, hidden]: the embedding itself when the checkpoint ties them. */
  lmHead: Float32Array;
  layers: ReferenceLayerWeights[];
}

/**
 * Reads every tensor of the model from the source exactly once, checking each against the dims
 * its shape implies, so a mismatched source fails here with the tensor's name rather than as a
 * wrong answer later.
 */
export function loadReferenceWeights(source: WeightSource): ReferenceWeights {
  const shape: Qwen3Shape = source.shape;
  const expected = expectedWeightDims(shape);
  const read = (name: string): Float32Array => {
    const dims = expected.get(name);
    if (!dims) throw new Error(`reference weights: ${name} is not a tensor of this Qwen3 shape`);
    const tensor = source.get(name);
    const same = tensor.dims.length === dims.length && tensor.dims.every((d, i) => d === dims[i]);
    if (!same) {
      throw new Error(`reference weights: ${name} has dims [${tensor.dims}], expected [${dims}]`);
    }
    if (tensor.data.length !== dims.reduce((a, b) => a * b, 1)) {
      throw new Error(`reference weights: ${name} holds ${tensor.data.length} values for dims [${dims}]`);
    }
    return tensor.data;
  };

  const embedding = read(EMBEDDING_WEIGHT);
  const layers: ReferenceLayerWeights[] = [];
  for (let i = 0; i < shape.numHiddenLayers; i++) {
    const n = layerWeightNames(i);
    layers.push({
      inputNorm: read(n.inputNorm),
      qProj: read(n.qProj),
      kProj: read(n.kProj),
      vProj: read(n.vProj),
      oProj: read(n.oProj),
      qNorm: read(n.qNorm),
      kNorm: read(n.kNorm),
      postAttentionNorm: read(n.postAttentionNorm),
      gateProj: read(n.gateProj),
      upProj: read(n.upProj),
      downProj: read(n.downProj),
    });
  }
  return {
    embedding,
    finalNorm: read(FINAL_NORM_WEIGHT),
    lmHead: shape.tieWordEmbeddings ? embedding : read(LM_HEAD_WEIGHT),
    layers,
  };
}
