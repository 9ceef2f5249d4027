import { Command, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { runOfflineBatch, type OfflineBatchSummary } from '../batch/offline/run-offline-batch.js';
import { DEFAULT_MAX_SEQS } from '../engine/engine-config.js';
import { ServeError } from '../errors.js';
import { parsePositiveInt } from '../cli-options/option-parsers.js';

interface BatchFlags {
  input: string;
  output: string;
  model: string;
  device: 'cpu' | 'cuda';
  threads?: number;
  maxSeqs: number;
  maxModelLen?: number;
  servedModelName?: string;
  concurrency?: number;
}

/**
 * `qwen3-serve batch -i in.jsonl -o out.jsonl --model DIR`: an OpenAI batch input file run
 * offline, like `vllm run-batch`: no HTTP server, the same executor and routes as the Batch API,
 * a progress bar on stderr and a summary on stdout. Exits 1 on a bad input file (naming the line).
 */
export function batchCommand(): Command {
  return new Command('batch')
    .description('run an OpenAI batch input file (JSONL) offline and write every answer to a JSONL file')
    .requiredOption('-i, --input <file>', 'batch input: one {custom_id, method, url, body} per line')
    .requiredOption('-o, --output <file>', 'where to write the answers (BatchRequestOutput lines, input order)')
    .requiredOption('--model <dir>', 'model folder (genai layout)')
    .addOption(new Option('--device <device>', 'execution provider').choices(['cpu', 'cuda']).default('cpu'))
    .option('--threads <n>', 'onnxruntime intra-op threads (default: one per physical core)', parsePositiveInt)
    .option('--max-seqs <n>', 'sequences running at once (KV rows)', parsePositiveInt, DEFAULT_MAX_SEQS)
    .option('--max-model-len <n>', 'most tokens (prompt + output) per sequence', parsePositiveInt)
    .option('--served-model-name <name>', "the `model` the lines' bodies may name; default the model folder's name")
    .option('--concurrency <n>', 'lines in flight at once (default: max-seqs)', parsePositiveInt)
    .action((flags: BatchFlags, command: Command) => runBatch(flags, command));
}

async function runBatch(flags: BatchFlags, command: Command): Promise<void> {
  const bar = new SingleBar({
    stream: process.stderr,
    format: 'batch {bar} {value}/{total} lines | {duration_formatted} elapsed | eta {eta_formatted}',
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 10_000,
  });
  let summary: OfflineBatchSummary;
  try {
    summary = await runOfflineBatch({
      inputPath: flags.input,
      outputPath: flags.output,
      model: {
        engine: { modelDir: flags.model, device: flags.device, threads: flags.threads, maxSeqs: flags.maxSeqs, maxModelLen: flags.maxModelLen },
        servedModelName: flags.servedModelName,
      },
      concurrency: flags.concurrency,
      onStart: (total) => bar.start(total, 0),
      onLineAnswered: () => bar.increment(),
    });
  } catch (err) {
    bar.stop();
    if (err instanceof ServeError) command.error(`qwen3-serve batch: ${flags.input}: ${err.message}`);
    throw err;
  }
  bar.stop();
  process.stdout.write(formatSummary(summary, flags.output));
}

function formatSummary(summary: OfflineBatchSummary, output: string): string {
  const perSecond = (n: number) => (summary.seconds > 0 ? (n / summary.seconds).toFixed(1) : 'n/a');
  return [
    `lines:      ${summary.total} (${summary.succeeded} succeeded, ${summary.failed} failed)`,
    `tokens:     ${summary.promptTokens} prompt, ${summary.completionTokens} generated`,
    `time:       ${summary.seconds.toFixed(1)} s (${perSecond(summary.total)} lines/s, ${perSecond(summary.completionTokens)} generated tok/s)`,
    `written to: ${output}`,
    '',
  ].join('\n');
}
