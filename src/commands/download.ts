import { Command } from 'commander';
import { downloadModel } from '../convert/hub/download-model.js';
import { parseHubModelRef } from '../convert/hub/model-ref.js';
import { silenceHubClientDebug, stderrDownloadProgress } from './download-progress.js';

interface DownloadFlags {
  hubUrl?: string;
  cacheDir?: string;
}

/**
 * `qwen3-serve download`: fetches an onnxruntime-genai model folder from a Hugging Face hub into the
 * standard cache and prints its local path (`serve --model` accepts the same references), with a byte progress bar on stderr.
 */
export function downloadCommand(): Command {
  return new Command('download')
    .description('download an onnxruntime-genai model folder from the Hugging Face hub; prints its local path')
    .argument('<model>', 'owner/name[/sub/folder][@revision], e.g. onnx-community/Qwen3-4B-ONNX/onnxruntime/cpu_and_mobile/cpu-int4-kld-block-128')
    .option('--hub-url <url>', 'hub base URL (env HF_ENDPOINT; default https://huggingface.co)')
    .option('--cache-dir <dir>', 'cache folder (env HF_HUB_CACHE; default ~/.cache/huggingface/hub)')
    .addHelpText('after', '\nA token for gated or private repositories is read from HF_TOKEN.')
    .action(async (model: string, flags: DownloadFlags, cmd: Command) => {
      const ref = parseHubModelRef(model);
      if (!ref) cmd.error(`error: '${model}' is neither a hub reference (owner/name[/folder][@revision]) nor a local folder`);
      silenceHubClientDebug();
      const progress = stderrDownloadProgress();
      let dir: string;
      try {
        dir = await downloadModel(ref, { hubUrl: flags.hubUrl, cacheDir: flags.cacheDir, onProgress: progress.onProgress });
      } finally {
        progress.stop();
      }
      process.stdout.write(`${dir}\n`);
    });
}
