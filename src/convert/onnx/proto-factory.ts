import onnxProto from 'onnx-proto';

/**
 * Constructors for the ONNX protobuf messages the graph writer emits. onnx-proto ships the ONNX
 * v1.10 schema as a CommonJS protobufjs module; everything protobuf-specific stays in this file.
 */
export const onnx = onnxProto.onnx;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;
export type ModelProto = onnxProto.onnx.IModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;

export const DataType = onnx.TensorProto.DataType;
export type DataType = onnxProto.onnx.TensorProto.DataType;

/** An attribute value as the writer passes it: ints become INT, other numbers FLOAT. */
export type AttributeValue = number | string | number[] | { float: number };

/**
 * Integer-valued numbers are written as INT attributes and others as FLOAT; `{ float: x }` forces
 * FLOAT for whole numbers such as a softcap of 0 (ONNX Runtime rejects an attribute of the wrong type).
 */
export function attribute(name: string, value: AttributeValue): AttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if (typeof value === 'string') {
    return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  }
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  if (typeof value === 'object') return { name, type: AttributeType.FLOAT, f: value.float };
  if (Number.isInteger(value)) return { name, type: AttributeType.INT, i: value };
  return { name, type: AttributeType.FLOAT, f: value };
}

/** A graph input or output: element type and dims, symbolic (`'batch_size'`) or fixed. */
export function valueInfo(name: string, elemType: DataType, dims: (number | string)[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** A tensor whose bytes sit in the model file itself. */
export function inlineTensor(name: string, dataType: DataType, dims: number[], bytes: Uint8Array): TensorProto {
  return { name, dataType, dims, rawData: bytes };
}

/** A tensor whose bytes sit in a side file beside the model (ONNX external data). */
export function externalTensor(
  name: string,
  dataType: DataType,
  dims: number[],
  location: string,
  offset: number,
  length: number,
): TensorProto {
  return {
    name,
    dataType,
    dims,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(length) },
    ],
  };
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

export function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
