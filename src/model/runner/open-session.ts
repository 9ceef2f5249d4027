import ort from 'onnxruntime-node';

export type Device = 'cpu' | 'cuda';

export interface SessionConfig {
  device: Device;
  /** Threads for one operator (matrix multiplies); default: onnxruntime's choice (OnnxRunner always sets it). */
  threads?: number;
  /** CUDA device index. */
  deviceId?: number;
  /**
   * Whether intra-op threads spin between operators (onnxruntime's default, true). Off where two
   * sessions share the cores: one's spinning threads would take cycles from the other's work.
   */
  spinning?: boolean;
  /** Writes onnxruntime's per-operator profile (JSON) to files starting with this prefix; for probes, not the server. */
  profileFilePrefix?: string;
}

/** Raised when the CUDA provider's libraries are not installed beside onnxruntime-node. */
export class CudaUnavailableError extends Error {
  override name = 'CudaUnavailableError';
}

export const CUDA_INSTALL_HINT =
  'onnxruntime-node was installed without its CUDA provider (this project\'s .npmrc skips the ' +
  'download). Install it with: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node ' +
  '(needs CUDA 12 and cuDNN 9 on the library path), or run with --device cpu.';

export async function openSession(onnxPath: string, config: SessionConfig): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    // One forward pass at a time, operators in sequence: parallelism comes from intra-op threads.
    executionMode: 'sequential',
    interOpNumThreads: 1,
    // onnxruntime-node rejects an explicit undefined; leave the key out to get its default.
    ...(config.threads !== undefined ? { intraOpNumThreads: config.threads } : {}),
    executionProviders:
      config.device === 'cuda' ? [{ name: 'cuda', deviceId: config.deviceId ?? 0 }, 'cpu'] : ['cpu'],
    logSeverityLevel: 3,
    ...(config.profileFilePrefix !== undefined ? { enableProfiling: true, profileFilePrefix: config.profileFilePrefix } : {}),
    ...(config.spinning === false ? { extra: { session: { 'intra_op.allow_spinning': '0', 'inter_op.allow_spinning': '0' } } } : {}),
  };
  try {
    return await ort.InferenceSession.create(onnxPath, options);
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    if (config.device === 'cuda' && /Cuda|CUDA|providers_shared|shared library/.test(message)) {
      throw new CudaUnavailableError(`${CUDA_INSTALL_HINT}\n(onnxruntime said: ${message})`);
    }
    throw err;
  }
}
