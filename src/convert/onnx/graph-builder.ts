import { bytesOf, type InitializerStore } from './initializer-store.js';
import {
  attribute,
  type AttributeValue,
  DataType,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './proto-factory.js';

export const MICROSOFT_DOMAIN = 'com.microsoft';

/**
 * Opsets the decoder graph imports. ai.onnx 17 has every standard op used here in the form used
 * (ReduceSum with axes as an input since 13); SimplifiedLayerNormalization is an onnxruntime op
 * registered in the ai.onnx domain at version 1, so any ai.onnx opset finds it, as in the model
 * builder's exports. ONNX IR 8 is what the onnx-proto (ONNX 1.10) schema describes.
 */
const OPSETS = [
  { domain: '', version: 17 },
  { domain: MICROSOFT_DOMAIN, version: 1 },
];
const IR_VERSION = 8;

/**
 * Accumulates one ONNX graph: nodes in topological order (callers add them in data-flow order),
 * initializers through an InitializerStore, and graph inputs/outputs. Node names follow the model
 * builder's `/model/layers.N/attn/...` scheme; each node's outputs are named `<node>/output_i`.
 */
export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly constants = new Set<string>();
  private readonly usedNames = new Set<string>();

  constructor(private readonly store: InitializerStore) {}

  input(info: ValueInfoProto): string {
    this.inputs.push(info);
    return info.name!;
  }

  output(info: ValueInfoProto): void {
    this.outputs.push(info);
  }

  /**
   * Adds a node named `name` and returns its output value names. `outputs` may give explicit names
   * (graph outputs such as `present.0.key`) or a count of outputs to name automatically; an empty
   * string in `inputs` marks an omitted optional input.
   */
  node(
    opType: string,
    name: string,
    inputs: string[],
    options: { outputs?: number | string[]; attributes?: Record<string, AttributeValue>; domain?: string } = {},
  ): string[] {
    if (this.usedNames.has(name)) throw new Error(`duplicate node name ${name}`);
    this.usedNames.add(name);
    const outputSpec = options.outputs ?? 1;
    const outputs = typeof outputSpec === 'number' ? Array.from({ length: outputSpec }, (_, i) => `${name}/output_${i}`) : outputSpec;
    const node: NodeProto = {
      opType,
      name,
      input: trimOptionalTail(inputs),
      output: outputs,
      attribute: Object.entries(options.attributes ?? {}).map(([key, value]) => attribute(key, value)),
    };
    if (options.domain) node.domain = options.domain;
    this.nodes.push(node);
    return outputs;
  }

  /** Adds a node with one output and returns that output's name. */
  op(
    opType: string,
    name: string,
    inputs: string[],
    attributes: Record<string, AttributeValue> = {},
    domain?: string,
  ): string {
    return this.node(opType, name, inputs, { attributes, domain })[0];
  }

  initializer(name: string, dataType: DataType, dims: number[], bytes: Uint8Array): string {
    this.initializers.push(this.store.add(name, dataType, dims, bytes));
    return name;
  }

  /** An int64 constant initializer, shared by every node that needs the same values and dims. */
  int64(values: number[], dims: number[] = [values.length]): string {
    const name = `/model/constants/INT64/${dims.length === 0 ? values[0] : `[${values.join(', ')}]`}`;
    if (!this.constants.has(name)) {
      this.constants.add(name);
      this.initializer(name, DataType.INT64, dims, bytesOf(BigInt64Array.from(values, BigInt)));
    }
    return name;
  }

  /** A float32 scalar constant initializer, shared like int64's. */
  float32(value: number): string {
    const name = `/model/constants/FLOAT/${value}`;
    if (!this.constants.has(name)) {
      this.constants.add(name);
      this.initializer(name, DataType.FLOAT, [], bytesOf(Float32Array.of(value)));
    }
    return name;
  }

  /** A float32 constant tensor, shared like int64's. */
  float32Tensor(values: number[], dims: number[]): string {
    const name = `/model/constants/FLOAT/[${values.join(', ')}]/[${dims.join(', ')}]`;
    if (!this.constants.has(name)) {
      this.constants.add(name);
      this.initializer(name, DataType.FLOAT, dims, bytesOf(Float32Array.from(values)));
    }
    return name;
  }

  /** A uint8 scalar constant initializer, shared like int64's. */
  uint8(value: number): string {
    const name = `/model/constants/UINT8/${value}`;
    if (!this.constants.has(name)) {
      this.constants.add(name);
      this.initializer(name, DataType.UINT8, [], Uint8Array.of(value));
    }
    return name;
  }

  toModel(graphName: string, metadata: Record<string, string>): ModelProto {
    return {
      irVersion: IR_VERSION,
      producerName: 'qwen3-serve',
      opsetImport: OPSETS,
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
  }
}

/** ONNX drops trailing omitted optional inputs rather than writing empty names for them. */
function trimOptionalTail(inputs: string[]): string[] {
  let end = inputs.length;
  while (end > 0 && inputs[end - 1] === '') end--;
  return inputs.slice(0, end);
}
