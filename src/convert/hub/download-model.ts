import { downloadFileToCacheDir, listFiles } from '@huggingface/hub';
import { realpath, rm, symlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { HubModelRef } from './model-ref.js';

export interface DownloadOptions {
  /** The hub's base URL; default HF_ENDPOINT or https://huggingface.co. */
  hubUrl?: string;
  /** Hugging Face cache folder; default HF_HUB_CACHE, HF_HOME/hub, or ~/.cache/huggingface/hub. */
  cacheDir?: string;
  /** Default HF_TOKEN. */
  accessToken?: string;
  /** Called before each file is fetched (or found in the cache). */
  onFile?: (path: string, size: number) => void;
  /** Called as bytes arrive, and as each file completes (fetched or found in the cache). */
  onProgress?: (progress: DownloadProgress) => void;
}

/**
 * How far a download is, in bytes of the folder's files. `totalBytes` is known from the listing
 * before the first byte, and grows once if tokenizer files must come from the repository root.
 * A file found in the cache counts as done at once, so a fully cached folder reaches the total too.
 */
export interface DownloadProgress {
  doneBytes: number;
  totalBytes: number;
  /** The file being fetched. */
  path: string;
}

/** Files an onnxruntime-genai folder may leave to the repository root (onnx-community does). */
const ROOT_FALLBACK_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'config.json'];

/**
 * Downloads one model folder of a hub repository into the standard Hugging Face cache, where
 * other tools share the files and nothing is fetched twice, and returns the local folder, ready
 * for readModelManifest. Files the folder lacks but the repository root has (tokenizer, configs)
 * are linked into it.
 */
export async function downloadModel(ref: HubModelRef, options: DownloadOptions = {}): Promise<string> {
  const hub: HubParams = {
    repo: ref.repo,
    revision: ref.revision,
    hubUrl: options.hubUrl ?? process.env.HF_ENDPOINT,
    cacheDir: options.cacheDir ?? process.env.HF_HUB_CACHE ?? (process.env.HF_HOME ? join(process.env.HF_HOME, 'hub') : undefined),
    accessToken: options.accessToken ?? process.env.HF_TOKEN,
  };
  const files = await listRepoFiles(hub, ref.subfolder, true);
  if (!files.some((f) => posix.basename(f.path) === 'genai_config.json')) {
    const where = ref.subfolder ? `${ref.repo}/${ref.subfolder}` : ref.repo;
    throw new Error(`${where}@${ref.revision} has no genai_config.json: it is not an onnxruntime-genai model folder`);
  }
  const progress = new ProgressCounter(files, options.onProgress);
  let snapshotRoot = '';
  for (const file of files) {
    options.onFile?.(file.path, file.size);
    const local = await progress.track(file, (fetch) => downloadFileToCacheDir({ ...hub, path: file.path, fetch }));
    // The cache mirrors the repository under snapshots/<commit>/: strip the file's repo path.
    snapshotRoot = local.slice(0, local.length - file.path.length);
  }
  const folder = join(snapshotRoot, ref.subfolder);
  if (!ref.subfolder) return folder;

  const inFolder = new Set(files.map((f) => posix.relative(ref.subfolder, f.path)));
  const missing = ROOT_FALLBACK_FILES.filter((name) => !inFolder.has(name));
  if (missing.length === 0) return folder;
  const rootFiles = (await listRepoFiles(hub, '', false)).filter((file) => missing.includes(file.path));
  progress.add(rootFiles);
  for (const file of rootFiles) {
    options.onFile?.(file.path, file.size);
    const local = await progress.track(file, (fetch) => downloadFileToCacheDir({ ...hub, path: file.path, fetch }));
    const link = join(folder, file.path);
    await rm(link, { force: true });
    await symlink(await realpath(local), link);
  }
  return folder;
}

/**
 * Counts the bytes of a download as they arrive, through the hub client's `fetch` option: file
 * contents come in response bodies (`resolve` responses, whole or in byte ranges; on Xet storage,
 * its chunks), counted chunk by chunk, while the JSON of listings, path info and Xet's
 * reconstruction plans is not. A file's count is capped at its size (Xet chunks are compressed and
 * may overlap), and set to its size once it is stored, so the bar always ends at the total.
 */
class ProgressCounter {
  private totalBytes = 0;
  private doneBytes = 0;

  constructor(files: readonly { size: number }[], private readonly report: ((progress: DownloadProgress) => void) | undefined) {
    this.add(files);
  }

  add(files: readonly { size: number }[]): void {
    for (const file of files) this.totalBytes += file.size;
  }

  /** Runs one file's download with a counting fetch; the file counts as whole once it is done. */
  async track<T>(file: { path: string; size: number }, download: (fetch: typeof globalThis.fetch) => Promise<T>): Promise<T> {
    if (!this.report) return download(globalThis.fetch);
    let received = 0;
    const emit = () => this.report!({ doneBytes: this.doneBytes + Math.min(received, file.size), totalBytes: this.totalBytes, path: file.path });
    const countingFetch: typeof globalThis.fetch = async (input, init) => {
      const response = await globalThis.fetch(input, init);
      if (!response.body || response.headers.get('content-type')?.includes('json')) return response;
      const counted = response.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            received += chunk.byteLength;
            emit();
            controller.enqueue(chunk);
          },
        }),
      );
      return new Response(counted, { status: response.status, statusText: response.statusText, headers: response.headers });
    };
    emit();
    const result = await download(countingFetch);
    this.doneBytes += file.size;
    received = 0;
    this.report({ doneBytes: this.doneBytes, totalBytes: this.totalBytes, path: file.path });
    return result;
  }
}

/** What every hub call shares. */
interface HubParams {
  repo: string;
  revision: string;
  hubUrl: string | undefined;
  cacheDir: string | undefined;
  accessToken: string | undefined;
}

async function listRepoFiles(hub: HubParams, path: string, recursive: boolean): Promise<{ path: string; size: number }[]> {
  const files: { path: string; size: number }[] = [];
  for await (const entry of listFiles({ ...hub, path: path || undefined, recursive })) {
    if (entry.type === 'file') files.push({ path: entry.path, size: entry.size });
  }
  return files;
}
