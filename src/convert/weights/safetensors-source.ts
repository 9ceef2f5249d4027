import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Qwen3Shape } from '../shape.js';
import { readQwen3CheckpointConfig } from './safetensors-checkpoint-config.js';
import {
  SAFETENSORS_DTYPE_BYTES,
  SUPPORTED_SAFETENSORS_DTYPES,
  decodeSafetensorsData,
  isSupportedSafetensorsDtype,
} from './safetensors-dtype.js';
import { readFully, readSafetensorsHeader, type SafetensorsEntry } from './safetensors-header.js';
import { expectedWeightDims, type WeightSource, type WeightTensor } from './weight-source.js';

const SINGLE_FILE = 'model.safetensors';
const SHARD_INDEX = 'model.safetensors.index.json';

/** Where one tensor lives: which open shard, and its entry in that shard's header. */
interface TensorLocation {
  shardPath: string;
  fd: number;
  entry: SafetensorsEntry;
}

/**
 * Opens a Hugging Face Qwen3 checkpoint folder: `config.json` plus either `model.safetensors` or
 * the shards listed in `model.safetensors.index.json`. Only headers are read here; every tensor the
 * config's shape requires is checked for presence, dtype (BF16, F16 or F32) and dims up front,
 * so a bad checkpoint fails at open with the tensor's name. `get` then reads one tensor from disk
 * by offset and widens it to fp32, so an 8 GB checkpoint never sits in memory whole.
 */
export function openSafetensorsCheckpoint(dir: string): WeightSource {
  if (!existsSync(dir)) throw new Error(`checkpoint folder ${dir} does not exist`);
  const shape = readQwen3CheckpointConfig(dir);
  const fds: number[] = [];
  try {
    const locations = locateTensors(dir, fds);
    validateAgainstShape(locations, shape, dir);
    return new SafetensorsWeightSource(shape, locations, fds);
  } catch (error) {
    for (const fd of fds) closeSync(fd);
    throw error;
  }
}

/** The shard files of the checkpoint, each mapped to the tensor names it must hold (null: all). */
function listShards(dir: string): Map<string, Set<string> | null> {
  if (existsSync(join(dir, SINGLE_FILE))) return new Map([[SINGLE_FILE, null]]);
  const indexPath = join(dir, SHARD_INDEX);
  if (!existsSync(indexPath)) throw new Error(`checkpoint ${dir} has neither ${SINGLE_FILE} nor ${SHARD_INDEX}`);
  let index: { weight_map?: unknown };
  try {
    index = JSON.parse(readFileSync(indexPath, 'utf8'));
  } catch (error) {
    throw new Error(`${indexPath} is not valid JSON: ${(error as Error).message}`);
  }
  const weightMap = index.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new Error(`${indexPath} has no weight_map object`);
  }
  const shards = new Map<string, Set<string>>();
  for (const [name, file] of Object.entries(weightMap)) {
    // Shard names are bare file names; anything else could reach outside the folder.
    if (typeof file !== 'string' || file !== basename(file)) {
      throw new Error(`${indexPath}: weight_map entry for ${name} is not a file name in the folder`);
    }
    if (!shards.has(file)) shards.set(file, new Set());
    shards.get(file)!.add(name);
  }
  return shards;
}

/** Opens every shard (pushing its fd onto `fds` for cleanup) and maps tensor names to locations. */
function locateTensors(dir: string, fds: number[]): Map<string, TensorLocation> {
  const locations = new Map<string, TensorLocation>();
  for (const [file, namesFromIndex] of listShards(dir)) {
    const shardPath = join(dir, file);
    if (!existsSync(shardPath)) throw new Error(`checkpoint ${dir}: shard ${file} is missing`);
    const fd = openSync(shardPath, 'r');
    fds.push(fd);
    const header = readSafetensorsHeader(fd, shardPath);
    for (const name of namesFromIndex ?? []) {
      if (!header.has(name)) throw new Error(`${SHARD_INDEX} places ${name} in ${file}, but that shard does not hold it`);
    }
    for (const [name, entry] of header) {
      // With an index, a tensor belongs to the shard the index names for it.
      if (namesFromIndex && !namesFromIndex.has(name)) continue;
      if (locations.has(name)) throw new Error(`checkpoint ${dir}: tensor ${name} appears in more than one shard`);
      locations.set(name, { shardPath, fd, entry });
    }
  }
  return locations;
}

/** Every tensor the shape needs is present, in a supported dtype, with the expected dims and size. */
function validateAgainstShape(locations: Map<string, TensorLocation>, shape: Qwen3Shape, dir: string): void {
  for (const [name, dims] of expectedWeightDims(shape)) {
    const location = locations.get(name);
    if (!location) throw new Error(`checkpoint ${dir} is missing tensor ${name}`);
    const { entry, shardPath } = location;
    if (!isSupportedSafetensorsDtype(entry.dtype)) {
      throw new Error(
        `checkpoint ${shardPath}: tensor ${name} has unsupported dtype ${entry.dtype} (supported: ${SUPPORTED_SAFETENSORS_DTYPES.join(', ')})`,
      );
    }
    const sameDims = entry.dims.length === dims.length && entry.dims.every((d, i) => d === dims[i]);
    if (!sameDims) {
      throw new Error(`checkpoint ${shardPath}: tensor ${name} has dims [${entry.dims}], config.json implies [${dims}]`);
    }
    const bytes = dims.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPE_BYTES[entry.dtype];
    if (entry.byteLength !== bytes) {
      throw new Error(`checkpoint ${shardPath}: tensor ${name} spans ${entry.byteLength} bytes, its dims and dtype need ${bytes}`);
    }
  }
}

class SafetensorsWeightSource implements WeightSource {
  private closed = false;

  constructor(
    readonly shape: Qwen3Shape,
    private readonly locations: Map<string, TensorLocation>,
    private readonly fds: number[],
  ) {}

  get(name: string): WeightTensor {
    if (this.closed) throw new Error(`safetensors checkpoint is closed (reading ${name})`);
    const location = this.locations.get(name);
    if (!location) throw new Error(`safetensors checkpoint has no tensor ${name}`);
    const { entry, fd, shardPath } = location;
    if (!isSupportedSafetensorsDtype(entry.dtype)) {
      throw new Error(`checkpoint ${shardPath}: tensor ${name} has unsupported dtype ${entry.dtype}`);
    }
    // A fresh buffer per tensor: aligned for the typed-array views decoding uses, and F32 data
    // is returned as a view over it without a second copy.
    const bytes = new Uint8Array(entry.byteLength);
    readFully(fd, bytes, entry.fileOffset, shardPath);
    return { dims: [...entry.dims], data: decodeSafetensorsData(bytes, entry.dtype) };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of this.fds) closeSync(fd);
  }
}
