import { Command, Option } from 'commander';
import { DEFAULT_MAX_BODY_BYTES } from '../api/app.js';
import { DEFAULT_BODY_TIMEOUT_SECONDS } from '../api/http/body-timeout.js';
import { DEFAULT_MAX_FILE_BYTES } from '../batch/batch-jobs.js';
import { DEFAULT_MAX_BATCH_LINES } from '../batch/input/parse-batch-input.js';
import { DEFAULT_DRAIN_TIMEOUT_SECONDS, DEFAULT_HEADERS_TIMEOUT_SECONDS, DEFAULT_PORT, DEFAULT_REQUEST_TIMEOUT_SECONDS, startServer, type ServerHandle } from '../server.js';
import { DEFAULT_MAX_SEQS } from '../engine/engine-config.js';
import { DEFAULT_TOKENIZER_WORKERS } from '../engine/worker/tokenizer-pool.js';
import { downloadModel } from '../convert/hub/download-model.js';
import { parseHubModelRef } from '../convert/hub/model-ref.js';
import { parseByteSize, parsePostgresUrl, parseNonNegativeInt, parseNonNegativeNumber, parsePort, parsePositiveInt, parsePositiveNumber } from '../cli-options/option-parsers.js';
import { ensureBuiltInTinyModel, TINY_MODEL_BANNER } from './serve-tiny-model.js';
import { LOG_LEVELS, serveLogger, type LogLevel } from './serve-logger.js';
import { portInUseMessage } from './port-in-use.js';
import { silenceHubClientDebug, stderrDownloadProgress } from './download-progress.js';
import { SPIN_POLICIES, type SpinPolicy } from '../model/runner/open-session.js';

interface ServeFlags {
  model?: string;
  host: string;
  port: number;
  device: 'cpu' | 'cuda';
  threads?: number;
  spinning?: SpinPolicy;
  maxSeqs: number;
  maxModelLen?: number;
  kvMemory?: number;
  apiKey?: string;
  servedModelName?: string;
  maxWaiting?: number;
  maxNumBatchedTokens?: number;
  maxPrefillChunk?: number;
  batchPrefillTokens?: number;
  /** false with --no-prefix-caching. */
  prefixCaching: boolean;
  /** false with --no-prefill-graph. */
  prefillGraph: boolean;
  maxBodyBytes: number;
  drainTimeout: number;
  requestTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
  logPrompts?: boolean;
  corsOrigins?: string[];
  dataDir: string;
  database?: string;
  batchLeaseSeconds?: number;
  maxFileBytes: number;
  maxBatchLines: number;
  batchConcurrency?: number;
  tokenizerWorkers: number;
  /** false with --no-ui. */
  ui: boolean;
  logLevel: LogLevel;
}

/** Each flag and its environment variable: QWEN3_SERVE_ + the flag in capitals. */
function flag(flags: string, description: string): Option {
  const long = /--([a-z-]+)/.exec(flags)![1];
  return new Option(flags, description).env(`QWEN3_SERVE_${long.replace(/-/g, '_').toUpperCase()}`);
}

/**
 * `qwen3-serve serve`: the OpenAI-compatible HTTP server. Listens at once, loads the model in the
 * background (/ready turns 200), drains on SIGTERM or SIGINT (in-flight requests finish, new ones
 * get 503) and exits 0. A model that cannot load (e.g. --device cuda without the CUDA provider)
 * exits non-zero with the reason.
 */
export function serveCommand(): Command {
  return new Command('serve')
    .description('serve a Qwen3 ONNX model over an OpenAI-compatible HTTP API')
    .addOption(flag('--model <dir|hub-ref>', 'model folder (genai layout), or a hub reference owner/name[/folder][@revision] downloaded into the Hugging Face cache; default: a built-in tiny random-weights test model'))
    .addOption(flag('--host <host>', 'address to listen on').default('127.0.0.1'))
    .addOption(flag('--port <n>', 'port to listen on (0: any free port)').argParser(parsePort).default(DEFAULT_PORT))
    .addOption(flag('--device <device>', 'execution provider').choices(['cpu', 'cuda']).default('cpu'))
    .addOption(flag('--threads <n>', 'onnxruntime intra-op threads (default: one per physical core)').argParser(parsePositiveInt))
    .addOption(flag('--spinning <policy>', "how onnxruntime's threads wait between operators: always, within-run (stop when a run returns) or never (default: always with one graph, never with a prefill graph)").choices(SPIN_POLICIES))
    .addOption(flag('--max-seqs <n>', 'sequences running at once (KV rows)').argParser(parsePositiveInt).default(DEFAULT_MAX_SEQS))
    .addOption(flag('--max-model-len <n>', "most tokens (prompt + output) per sequence; default min(model's context, 8192)").argParser(parsePositiveInt))
    .addOption(flag('--kv-memory <bytes>', 'KV cache budget, e.g. 4GiB or 512MB; default 25% of system memory').argParser(parseByteSize))
    .addOption(flag('--api-key <key>', 'require "Authorization: Bearer <key>" on the API routes'))
    .addOption(
      flag('--cors-origins <list>', "comma-separated origins browser apps may call the API from, or '*' for any (default: none)").argParser((value) =>
        value.split(',').map((origin) => origin.trim()).filter((origin) => origin !== ''),
      ),
    )
    .addOption(flag('--served-model-name <name>', "the model name clients use; default the model folder's name"))
    .addOption(flag('--max-waiting <n>', 'requests allowed to wait beyond those running before 429 (default 4 x max-seqs)').argParser(parseNonNegativeInt))
    .addOption(flag('--max-num-batched-tokens <n>', 'tokens per engine step, decodes plus prefill chunks (default max-seqs + max-prefill-chunk)').argParser(parsePositiveInt))
    .addOption(flag('--max-prefill-chunk <n>', 'tokens per prefill chunk (default 128): longer chunks prefill faster, shorter ones keep running streams flowing').argParser(parsePositiveInt))
    .addOption(flag('--no-prefix-caching', "don't keep finished requests' KV rows for later prompts that start with the same tokens (chat history, system prompt); every prompt is prefilled whole"))
    .addOption(flag('--no-prefill-graph', "run prefill chunks through the main graph even when the model folder has a prefill graph (prefill.onnx, from export --prefill-graph); loads only model.onnx"))
    .addOption(flag('--max-body-bytes <bytes>', 'largest request body, e.g. 4MiB').argParser(parseByteSize).default(DEFAULT_MAX_BODY_BYTES))
    .addOption(flag('--drain-timeout <seconds>', 'on SIGTERM, how long in-flight requests may finish').argParser(parseNonNegativeNumber).default(DEFAULT_DRAIN_TIMEOUT_SECONDS))
    .addOption(
      flag(
        '--request-timeout <seconds>',
        'longest life of a generation request, queue wait included; past it the request is cancelled (its KV row freed) and answered 504 request_timeout. ' +
          'The default (30 min) only stops stuck or abandoned requests from holding a row: long answers on a busy CPU take minutes. 0: no limit',
      )
        .argParser(parseNonNegativeNumber)
        .default(DEFAULT_REQUEST_TIMEOUT_SECONDS),
    )
    .addOption(
      flag('--headers-timeout <seconds>', "longest a client may take to send a request's headers; past it Node answers 408 and closes the connection")
        .argParser(parsePositiveNumber)
        .default(DEFAULT_HEADERS_TIMEOUT_SECONDS),
    )
    .addOption(
      flag('--body-timeout <seconds>', 'longest a request body may pause while it arrives (an idle timeout, so slow steady uploads pass); past it the request is answered 408 body_timeout. 0: no limit')
        .argParser(parseNonNegativeNumber)
        .default(DEFAULT_BODY_TIMEOUT_SECONDS),
    )
    .addOption(flag('--log-level <level>', 'least severe log records written; stdout gets JSON lines, or readable lines when it is a terminal').choices(LOG_LEVELS).default('info'))
    .addOption(flag('--log-prompts', 'log prompts and outputs with each request (default: counts and timings only)'))
    .addOption(flag('--data-dir <dir>', 'where the Files and Batch API keep their SQLite database and files, the Responses API its stored responses and the web UI its conversations').default('./data'))
    .addOption(
      new Option('--database <url>', 'a PostgreSQL URL (postgres://user:pass@host:5432/db) for the Files and Batch API instead of the SQLite in --data-dir; replicas given the same URL share files and work batches together')
        .env('QWEN3_SERVE_DATABASE_URL')
        .argParser(parsePostgresUrl),
    )
    .addOption(flag('--batch-lease-seconds <s>', 'how long a batch line claimed by this server stays its own without renewal (renewed every third of it); a crashed replica\'s lines run elsewhere after this (default 30)').argParser(parsePositiveNumber))
    .addOption(flag('--max-file-bytes <bytes>', 'largest file upload (/v1/files), e.g. 200MiB').argParser(parseByteSize).default(DEFAULT_MAX_FILE_BYTES))
    .addOption(flag('--max-batch-lines <n>', 'most requests in one batch file').argParser(parsePositiveInt).default(DEFAULT_MAX_BATCH_LINES))
    .addOption(flag('--batch-prefill-tokens <n>', 'prompt tokens of batch lines per engine step (default 16): fewer keep interactive TTFT near idle beside a batch, more prefill batches faster').argParser(parsePositiveInt))
    .addOption(flag('--tokenizer-workers <n>', 'threads that tokenize long prompts and render chat templates, so the HTTP thread never stalls on them (0: on the HTTP thread)').argParser(parseNonNegativeInt).default(DEFAULT_TOKENIZER_WORKERS))
    .addOption(flag('--batch-concurrency <n>', 'batch lines in flight at once (default: max-seqs)').argParser(parsePositiveInt))
    .addOption(flag('--no-ui', "don't serve the chat web UI at / (its conversations are kept in --data-dir's ui.sqlite)"))
    .addHelpText('after', '\nEvery flag can also be set by its environment variable, e.g. QWEN3_SERVE_PORT=9000.')
    .action((flags: ServeFlags) => runServe(flags));
}

async function runServe(flags: ServeFlags): Promise<void> {
  // An empty QWEN3_SERVE_MODEL counts as unset.
  let modelDir = flags.model || undefined;
  let servedModelName = flags.servedModelName;
  const hubRef = modelDir === undefined ? null : parseHubModelRef(modelDir);
  if (modelDir === undefined) {
    const tiny = ensureBuiltInTinyModel();
    modelDir = tiny.dir;
    process.stderr.write(`${TINY_MODEL_BANNER}${tiny.created ? ` (written now to ${tiny.dir})\n` : ` (from ${tiny.dir})\n`}\n`);
  } else if (hubRef) {
    // Clients name a hub model by its reference, as with vLLM; the cache folder's name means nothing to them.
    servedModelName ??= modelDir.replace(/@.*$/, '');
    silenceHubClientDebug();
    const progress = stderrDownloadProgress();
    try {
      modelDir = await downloadModel(hubRef, { onProgress: progress.onProgress });
    } finally {
      progress.stop();
    }
  }
  const starting = startServer({
    engine: {
      modelDir,
      device: flags.device,
      threads: flags.threads,
      spinning: flags.spinning,
      maxSeqs: flags.maxSeqs,
      maxModelLen: flags.maxModelLen,
      kvMemoryBytes: flags.kvMemory,
      prefillGraph: flags.prefillGraph,
      scheduler: {
        maxNumBatchedTokens: flags.maxNumBatchedTokens,
        maxPrefillChunk: flags.maxPrefillChunk,
        maxBatchPrefillTokens: flags.batchPrefillTokens,
        prefixCaching: flags.prefixCaching,
      },
    },
    host: flags.host,
    port: flags.port,
    apiKey: flags.apiKey,
    servedModelName,
    maxWaiting: flags.maxWaiting,
    maxBodyBytes: flags.maxBodyBytes,
    drainTimeoutSeconds: flags.drainTimeout,
    requestTimeoutSeconds: flags.requestTimeout,
    headersTimeoutSeconds: flags.headersTimeout,
    bodyTimeoutSeconds: flags.bodyTimeout,
    logPrompts: flags.logPrompts ?? false,
    corsOrigins: flags.corsOrigins,
    dataDir: flags.dataDir,
    // An empty QWEN3_SERVE_DATABASE_URL counts as unset.
    database: flags.database || undefined,
    batchLeaseSeconds: flags.batchLeaseSeconds,
    maxFileBytes: flags.maxFileBytes,
    maxBatchLines: flags.maxBatchLines,
    batchConcurrency: flags.batchConcurrency,
    tokenizerWorkers: flags.tokenizerWorkers,
    ui: flags.ui,
    logger: serveLogger(flags.logLevel),
  });
  const server = await starting.catch((err: unknown) => exitWithStartError(err, flags));
  stopOnSignals(server);
  try {
    await server.ready;
  } catch (err) {
    process.stderr.write(`qwen3-serve: the model could not be loaded: ${(err as Error).message}\n`);
    await server.close();
    process.exit(1);
  }
}

/**
 * A server that cannot start is an operator's mistake to fix, told in one line and exit 1, not a
 * stack trace: a port already taken (or privileged) says what to change; a batch database that
 * cannot be opened (a locked data directory, an unreachable or newer PostgreSQL) says which.
 */
function exitWithStartError(err: unknown, flags: ServeFlags): never {
  const message = portInUseMessage(err, flags.host, flags.port) ?? (err instanceof Error ? err.message : String(err));
  process.stderr.write(`qwen3-serve: ${message}\n`);
  process.exit(1);
}

/** The first SIGTERM/SIGINT drains and exits 0; a second one exits at once. */
function stopOnSignals(server: ServerHandle): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`qwen3-serve: ${signal} again, exiting without waiting\n`);
      process.exit(1);
    }
    stopping = true;
    server.drain().then(
      () => process.exit(0),
      (err: Error) => {
        process.stderr.write(`qwen3-serve: error while draining: ${err.message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
