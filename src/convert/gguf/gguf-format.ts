/**
 * The constants of the GGUF v3 file format (ggml's `gguf.h`/`ggml.h`, gguf-py's `constants.py`)
 * this writer uses. Only what a Qwen3 file needs is listed; the numbers are the on-disk values.
 */

/** "GGUF" read as a little-endian uint32: the file's first four bytes are the ASCII letters. */
export const GGUF_MAGIC = 0x46554747;
export const GGUF_VERSION = 3;
/** Tensor data starts, and every tensor begins, at a multiple of this (general.alignment's default). */
export const GGUF_ALIGNMENT = 32;

/** Type tags of metadata values. */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

/** The ggml tensor types this writer produces and how each stores a row. */
export const GGML_TYPES = {
  /** 4 bytes per value. */
  F32: { id: 0, blockValues: 1, blockBytes: 4 },
  /** Blocks of 32 values: fp16 scale d, then 16 bytes of 4-bit codes q (value = d * (q - 8)). */
  Q4_0: { id: 2, blockValues: 32, blockBytes: 2 + 16 },
  /** Blocks of 32 values: fp16 scale d, then 32 int8 codes q (value = d * q). */
  Q8_0: { id: 8, blockValues: 32, blockBytes: 2 + 32 },
} as const;

export type GgmlTypeName = keyof typeof GGML_TYPES;

/**
 * llama.cpp's `llama_ftype` (general.file_type): what most of the file's matrices are. Tools
 * print it as the model's quantization; llama.cpp itself reads each tensor's own type.
 */
export const LLAMA_FILE_TYPES: Record<GgmlTypeName, number> = {
  F32: 0, // LLAMA_FTYPE_ALL_F32
  Q4_0: 2, // LLAMA_FTYPE_MOSTLY_Q4_0
  Q8_0: 7, // LLAMA_FTYPE_MOSTLY_Q8_0
};

/** ggml's quantization format version (general.quantization_version), 2 since May 2023. */
export const GGML_QUANTIZATION_VERSION = 2;

/** tokenizer.ggml.token_type values (llama.cpp's `llama_token_type`). */
export const GgufTokenType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

/** Bytes of one row of `values` values in a ggml type; the row must be whole blocks. */
export function ggmlRowBytes(type: GgmlTypeName, values: number): number {
  const { blockValues, blockBytes } = GGML_TYPES[type];
  if (values % blockValues !== 0) {
    throw new RangeError(`a ${type} row holds whole blocks of ${blockValues} values; ${values} is not a multiple`);
  }
  return (values / blockValues) * blockBytes;
}

/** `offset` rounded up to the next multiple of the alignment. */
export function alignUp(offset: number, alignment = GGUF_ALIGNMENT): number {
  return Math.ceil(offset / alignment) * alignment;
}
