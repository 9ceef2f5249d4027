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
  let snapshotRoot = '';
  for (const file of files) {
    options.onFile?.(file.path, file.size);
    const local = await downloadFileToCacheDir({ ...hub, path: file.path });
    // The cache mirrors the repository under snapshots/<commit>/: strip the file's repo path.
    snapshotRoot = local.slice(0, local.length - file.path.length);
  }
  const folder = join(snapshotRoot, ref.subfolder);
  if (!ref.subfolder) return folder;

  const inFolder = new Set(files.map((f) => posix.relative(ref.subfolder, f.path)));
  const missing = ROOT_FALLBACK_FILES.filter((name) => !inFolder.has(name));
  if (missing.length === 0) return folder;
  for (const file of await listRepoFiles(hub, '', false)) {
    if (!missing.includes(file.path)) continue;
    options.onFile?.(file.path, file.size);
    const local = await downloadFileToCacheDir({ ...hub, path: file.path });
    const link = join(folder, file.path);
    await rm(link, { force: true });
    await symlink(await realpath(local), link);
  }
  return folder;
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
