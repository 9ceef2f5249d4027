import { Command } from 'commander';
import { batchCommand } from './commands/batch.js';
import { benchCommand } from './commands/bench.js';
import { downloadCommand } from './commands/download.js';
import { exportCommand } from './commands/export.js';
import { openApiCommand } from './commands/openapi.js';
import { serveCommand } from './commands/serve.js';

/**
 * The `qwen3-serve` command line. Each subcommand lives in its own module under src/commands/ and
 * exports a function returning its commander Command; registering one is a single addCommand line.
 */
export function buildProgram(): Command {
  return new Command('qwen3-serve')
    .description('OpenAI-compatible inference server for Qwen3 ONNX models on onnxruntime-node')
    .showHelpAfterError()
    .addCommand(serveCommand())
    .addCommand(exportCommand())
    .addCommand(benchCommand())
    .addCommand(downloadCommand())
    .addCommand(openApiCommand())
    .addCommand(batchCommand());
}

await buildProgram().parseAsync(process.argv);
