import { existsSync } from 'node:fs';

/**
 * A model on a Hugging Face hub: `owner/name`, optionally a folder inside the repository (the
 * onnxruntime-genai exports live in subfolders such as
 * `onnxruntime/cpu_and_mobile/cpu-int4-kld-block-128`) and a revision.
 */
export interface HubModelRef {
  repo: string;
  subfolder: string;
  revision: string;
}

const HUB_REF = /^([\w.-]+\/[\w.-]+)((?:\/[\w.-]+)*)(?:@([\w./-]+))?$/;

/**
 * Reads `owner/name[/sub/folder][@revision]`, e.g.
 * `onnx-community/Qwen3-4B-ONNX/onnxruntime/cpu_and_mobile/cpu-int4-kld-block-128@main`.
 * Returns null when `spec` is an existing local path or not in that form.
 */
export function parseHubModelRef(spec: string): HubModelRef | null {
  if (existsSync(spec)) return null;
  const match = HUB_REF.exec(spec);
  if (!match) return null;
  const [, repo, subfolder, revision] = match;
  return { repo, subfolder: subfolder.replace(/^\//, ''), revision: revision ?? 'main' };
}
