import ort from 'onnxruntime-node';

export type Device = 'cpu' | 'cuda';

/**
 * How a session's intra-op threads wait between operators:
 * - 'always': they spin, during a run and for a while after it (onnxruntime's default);
 * - 'within-run': they spin between a run's operators and stop as soon as the run returns
 *   (`session.force_spinning_stop`), so an idle session takes no cycles from another's run;
 * - 'never': they sleep whenever they have no work, and each operator wakes them again.
 */
export type SpinPolicy = 'always' | 'within-run' | 'never';

const SPIN_SETTINGS: Record<SpinPolicy, Record<string, string>> = {
  always: {},
  'within-run': { 'force_spinning_stop': '1' },
  never: { 'intra_op.allow_spinning': '0', 'inter_op.allow_spinning': '0' },
};

export const SPIN_POLICIES = Object.keys(SPIN_SETTINGS) as SpinPolicy[];

export function parseSpinPolicy(value: string): SpinPolicy {
  if ((SPIN_POLICIES as string[]).includes(value)) return value as SpinPolicy;
  throw new Error(`spinning must be one of ${SPIN_POLICIES.join(', ')}; got '${value}'`);
}

export interface SessionConfig {
  device: Device;
  /** Threads for one operator (matrix multiplies); default: onnxruntime's choice (OnnxRunner always sets it). */
  threads?: number;
  /** CUDA device index. */
  deviceId?: number;
  /** How intra-op threads wait for work (see SpinPolicy); default 'always', onnxruntime's own. */
  spinning?: SpinPolicy;
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
    extra: { session: SPIN_SETTINGS[config.spinning ?? 'always'] },
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
