import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_MODEL_CACHE, ensureBenchGguf, ensureBenchModel, type BenchModelSpec } from '../../loadtest/bench/bench-models.js';
import { runEngineBench } from '../../loadtest/bench/engine-bench.js';
import { formatEngineBench } from '../../loadtest/bench/engine-bench-report.js';
import { runModelBench } from '../../loadtest/bench/model-bench.js';
import { formatModelBench } from '../../loadtest/bench/model-bench-report.js';
import { GGUF_WEIGHT_TYPES } from '../convert/gguf/write-qwen3-gguf.js';
import { PRESETS, type PresetName } from '../convert/shape.js';
import { SPIN_POLICIES, type SpinPolicy } from '../model/runner/open-session.js';
import { parseNonNegativeInt, parsePositiveInt, parsePositiveIntList } from '../cli-options/option-parsers.js';

/**
 * The benchmark models' weight formats: int4 and int8 MatMulNBits, block 128 (the published CPU
 * export's); `int4-prefill` is the int4 export with its int8 prefill graph (export --prefill-graph).
 */
const FORMATS = {
  int4: { bits: 4, blockSize: 128 },
  int8: { bits: 8, blockSize: 128 },
  'int4-prefill': { bits: 4, blockSize: 128 },
  'int4-kv8': { bits: 4, blockSize: 128 },
  'int4-prefill-kv8': { bits: 4, blockSize: 128 },
} as const;
/** Formats whose export also writes the prefill graph. */
const WITH_PREFILL_GRAPH: ReadonlySet<FormatName> = new Set(['int4-prefill', 'int4-prefill-kv8']);
/** Formats exported with an int8 KV cache (export --kv-cache int8). */
const WITH_INT8_KV: ReadonlySet<FormatName> = new Set(['int4-kv8', 'int4-prefill-kv8']);
/** The llama.cpp quantization each format is compared with (same bits per weight, near enough). */
const LLAMA_CPP_PEERS = { int4: 'q4_0', int8: 'q8_0', 'int4-prefill': 'q4_0', 'int4-kv8': 'q4_0', 'int4-prefill-kv8': 'q4_0' } as const;
type FormatName = keyof typeof FORMATS;
/** The seed of every benchmark model: the ONNX exports and their GGUF peers hold the same weights. */
const BENCH_SEED = 0;

const benchModel = (format: FormatName, preset: PresetName = 'qwen3-4b'): BenchModelSpec => ({
  preset,
  format: FORMATS[format],
  seed: BENCH_SEED,
  prefillGraph: WITH_PREFILL_GRAPH.has(format),
  kvCache: WITH_INT8_KV.has(format) ? 'int8' : 'float',
});

interface CommonFlags {
  quick?: boolean;
  cache: string;
  threads?: number;
  json?: string;
}

interface ModelFlags extends CommonFlags {
  preset: PresetName;
  formats: FormatName[];
  modelDir?: string[];
  decodeSteps?: number;
  prefillTokens?: number;
  longPromptTokens?: number;
  sequences?: number;
  sequencePromptTokens?: number;
  sequenceOutputTokens?: number;
  /** false with --no-llama-cpp. */
  llamaCpp: boolean;
  chunk: number;
  spinning?: SpinPolicy;
}

interface EngineFlags extends CommonFlags {
  modelDir?: string;
  concurrency: number[];
  rounds?: number;
  promptTokens: number;
  maxTokens?: number;
  baselineRequests?: number;
}

/**
 * `qwen3-serve bench model|engine`: the speed benchmarks of issues 2 and 3 on the qwen3-4b-shaped
 * models (exported into --cache on first use). Results print as Markdown tables for BENCHMARKS.md
 * and are saved as JSON. Benchmarks, not tests: they measure, they do not pass or fail.
 */
export function benchCommand(): Command {
  return new Command('bench')
    .description('speed benchmarks on the qwen3-4b-shaped models (see BENCHMARKS.md)')
    .addCommand(modelBenchCommand())
    .addCommand(engineBenchCommand())
    .addCommand(serveBenchCommand())
    .addCommand(httpLoadCommand());
}

function withCommonOptions(command: Command): Command {
  return command
    .option('--quick', 'small counts: a run of a few minutes that checks the path, not the final figures')
    .option('--cache <dir>', 'where benchmark models are exported and reused', DEFAULT_MODEL_CACHE)
    .option('--threads <n>', 'onnxruntime intra-op threads, and llama.cpp\'s in bench model (default: one per core)', parsePositiveInt)
    .option('--json <file>', 'where to save the results as JSON (default: results/bench-<kind>-<time>.json)');
}

function modelBenchCommand(): Command {
  const command = new Command('model')
    .description(
      'per model, in a fresh process: load time, peak RSS, single-stream decode tok/s after a short and a long prompt, prefill tok/s (one shot and 64-token chunks), ' +
        'several sequences decoding together, against the memory-bandwidth roofline; then llama.cpp (node-llama-cpp) on a GGUF of the same weights, same workloads, side by side',
    )
    .addOption(new Option('--preset <name>', 'model shape of the exported benchmark models (tiny: checks the path in seconds)').choices(Object.keys(PRESETS)).default('qwen3-4b'))
    .addOption(new Option('--formats <list>', 'comma-separated weight formats of the preset').default(['int4', 'int8'], 'int4,int8').argParser(parseFormats))
    .option('--model-dir <dir...>', 'measure these model folders instead of the exported presets (no llama.cpp peer: its weights are unknown)')
    .option('--decode-steps <n>', 'timed decode steps (default 64, quick 16)', parsePositiveInt)
    .option('--prefill-tokens <n>', 'prompt length of the prefill measurement (default 512, quick 128)', parsePositiveInt)
    .option('--long-prompt-tokens <n>', 'prompt before the long-context decode measurement (default 2048, quick 256)', parsePositiveInt)
    .option('--sequences <n>', 'sequences decoding together (default 8, quick 4)', parsePositiveInt)
    .option('--sequence-prompt-tokens <n>', "prompt tokens of each sequence (default 113, llama.cpp's workload; quick 32)", parsePositiveInt)
    .option('--sequence-output-tokens <n>', 'tokens each sequence generates (default 64; quick 8)', parsePositiveInt)
    .option('--no-llama-cpp', 'skip the llama.cpp baseline')
    .option('--chunk <n>', 'chunk length of the chunked prefill (the engine\'s default)', parsePositiveInt, 64)
    .addOption(new Option('--spinning <policy>', "how onnxruntime's threads wait between operators (default: the server's, see serve --spinning)").choices(SPIN_POLICIES));
  return withCommonOptions(command).action(async (flags: ModelFlags) => {
    const quick = flags.quick === true;
    const models = flags.modelDir
      ? flags.modelDir.map((dir) => ({ label: dir, dir }))
      : flags.formats.map((format) => ({
          label: `${flags.preset === 'qwen3-4b' ? '' : `${flags.preset} `}${format} block ${FORMATS[format].blockSize}`,
          dir: ensureBenchModel(benchModel(format, flags.preset), flags.cache, progress),
          peer: flags.llamaCpp
            ? { gguf: ensureBenchGguf({ preset: flags.preset, type: LLAMA_CPP_PEERS[format], seed: BENCH_SEED }, flags.cache, progress), type: GGUF_WEIGHT_TYPES[LLAMA_CPP_PEERS[format]] }
            : undefined,
        }));
    const result = await runModelBench({
      models,
      probe: {
        threads: flags.threads,
        spinning: flags.spinning,
        decodePromptTokens: 16,
        longDecodePromptTokens: flags.longPromptTokens ?? (quick ? 256 : 2048),
        warmupSteps: quick ? 4 : 8,
        decodeSteps: flags.decodeSteps ?? (quick ? 16 : 64),
        prefillTokens: flags.prefillTokens ?? (quick ? 128 : 512),
        chunkTokens: flags.chunk,
        prefillRuns: quick ? 1 : 2,
        sequences: {
          count: flags.sequences ?? (quick ? 4 : 8),
          promptTokens: flags.sequencePromptTokens ?? (quick ? 32 : 113),
          outputTokens: flags.sequenceOutputTokens ?? (quick ? 8 : 64),
        },
      },
      // llama.cpp takes --threads too; without it, one thread per core, as onnxruntime's default.
      llamaCppThreads: flags.threads ?? availableParallelism(),
      bandwidth: { bufferBytes: (quick ? 1 : 2) * 1024 ** 3, passes: quick ? 2 : 3, threads: cpus().length },
      log: progress,
    });
    report('model', formatModelBench(result), result, flags.json);
  });
}

function engineBenchCommand(): Command {
  const command = new Command('engine')
    .description('the engine in its worker thread: decode tok/s at 1-8 streams, step overhead, main-thread event-loop lag, and the same requests through @huggingface/transformers')
    .option('--model-dir <dir>', 'model folder (default: the qwen3-4b int4 export in --cache)')
    .option('--concurrency <list>', 'comma-separated concurrent stream counts', parsePositiveIntList, [1, 2, 4, 8])
    .option('--rounds <n>', 'times the sweep runs; each concurrency reports its best round (default 2, quick 1)', parsePositiveInt)
    .option('--prompt-tokens <n>', 'prompt length of every request', parsePositiveInt, 32)
    .option('--max-tokens <n>', 'tokens each request generates (default 96, quick 24)', parsePositiveInt)
    .option('--baseline-requests <n>', 'requests the transformers.js baseline runs one after another, 0 to skip (default: the largest concurrency; quick 2)', parseNonNegativeInt);
  return withCommonOptions(command).action(async (flags: EngineFlags) => {
    const quick = flags.quick === true;
    const modelDir = flags.modelDir ?? ensureBenchModel(benchModel('int4'), flags.cache, progress);
    const result = await runEngineBench({
      modelDir,
      threads: flags.threads,
      concurrency: flags.concurrency,
      rounds: flags.rounds ?? (quick ? 1 : 2),
      promptTokens: flags.promptTokens,
      maxTokens: flags.maxTokens ?? (quick ? 24 : 96),
      warmupTokens: 8,
      baselineRequests: flags.baselineRequests ?? (quick ? 2 : Math.max(...flags.concurrency)),
      log: progress,
    });
    report('engine', formatEngineBench(result), result, flags.json);
  });
}

interface ServeFlags {
  quick?: boolean;
  cache: string;
  threads?: number;
  formats: FormatName[];
  modelDir?: string[];
  extendedModels: number;
  out?: string;
  concurrency?: number[];
  inputTokens: number;
  outputTokens: number;
  minRequests: number;
  baselineConcurrency?: number[];
  rates?: number[];
  poissonRequests?: number;
  contractRequests?: number;
  contractTokens?: [number, number];
  contractOutputTokens: number;
  prefillSettings?: { chunk: number; budget?: number }[];
  transformersRequests?: number;
  maxSeqs: number;
  maxWaiting: number;
  goodput: { ttftMs?: number; tpotMs?: number; e2eMs?: number };
  fromJson?: string;
}

function serveBenchCommand(): Command {
  return new Command('serve')
    .description(
      "the HTTP server under load (vLLM bench serve's metrics): concurrency sweep, Poisson arrivals, long contract prompts, llama.cpp's 8 x 113/64 workload; " +
        'baselines: the same server with --max-seqs 1 and transformers.js one request at a time; writes results.json, report.md and PNG plots',
    )
    .option('--quick', 'small counts: a run of a few minutes that checks the path, not the final figures')
    .option('--cache <dir>', 'where benchmark models are exported and reused', DEFAULT_MODEL_CACHE)
    .option('--threads <n>', 'onnxruntime intra-op threads (default: one per physical core)', parsePositiveInt)
    .addOption(new Option('--formats <list>', 'weight formats of the qwen3-4b preset').default(['int4', 'int8'], 'int4,int8').argParser(parseFormats))
    .option('--model-dir <dir...>', 'serve these model folders instead of the exported presets')
    .option('--extended-models <n>', 'how many of the models (the first ones) also run the Poisson, contract and prefill-setting scenarios', parseNonNegativeInt, 1)
    .option('--out <dir>', 'results folder (default results/serve-<time>)')
    .option('--concurrency <list>', 'concurrency sweep (default 1,2,4,8,16; quick 1,4)', parsePositiveIntList)
    .option('--input-tokens <n>', "prompt tokens of the sweep's random prompts (113: llama.cpp's workload)", parsePositiveInt, 113)
    .option('--output-tokens <n>', "output tokens of the sweep's requests (64: llama.cpp's workload)", parsePositiveInt, 64)
    .option('--min-requests <n>', 'requests of a sweep level at least (a level sends max(this, concurrency))', parsePositiveInt, 2)
    .option('--baseline-concurrency <list>', 'sweep levels also run on the server with batching off, --max-seqs 1 (default 8; quick 4)', parsePositiveIntList)
    .option('--rates <list>', 'Poisson request rates, requests/s (default 0.1; quick 0.5)', parseRateList)
    .option('--poisson-requests <n>', 'requests per Poisson rate, 0 to skip (default 6; quick 3)', parseNonNegativeInt)
    .option('--contract-requests <n>', 'contract summarisation requests, 0 to skip (default 2; quick 1)', parseNonNegativeInt)
    .option('--contract-tokens <min-max>', 'contract prompt lengths (default 1024-2048; quick 256-512)', parseRange)
    .option('--contract-output-tokens <n>', 'output tokens of a contract summary', parsePositiveInt, 32)
    .option('--prefill-settings <list>', 'prefill chunk[:step budget] settings tried on the peer workload (default 128,256; quick 128)', parsePrefillSettings)
    .option('--transformers-requests <n>', 'requests the transformers.js baseline runs one after another, 0 to skip (default 2; quick 1)', parseNonNegativeInt)
    .option('--max-seqs <n>', 'KV rows of the batching server', parsePositiveInt, 8)
    .option('--max-waiting <n>', 'queue of every server beyond its running requests (large: no benchmark request is refused)', parsePositiveInt, 64)
    .option('--from-json <file>', "no run: rewrite report.md and the plots into --out from a run's results.json (or results.partial.json)")
    .option('--goodput <slo>', "vLLM's goodput SLOs in ms, e.g. ttft:21000,tpot:1000 (keys ttft, tpot, e2el)", parseGoodput, { ttftMs: 21000, tpotMs: 1000 })
    .action(async (flags: ServeFlags) => {
      // Loaded here: the serving benchmark's client and plotting packages are development dependencies.
      const { runServeBench } = await import('../../loadtest/serve/serve-bench.js');
      const { writeServeBenchOutputs } = await import('../../loadtest/serve/serve-bench-output.js');
      type ServeBenchResult = import('../../loadtest/serve/serve-bench.js').ServeBenchResult;
      const dir = flags.out ?? join('results', `serve-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      if (flags.fromJson) {
        const { command, ...saved } = JSON.parse(readFileSync(flags.fromJson, 'utf8')) as ServeBenchResult & { command: string };
        const files = await writeServeBenchOutputs(saved, dir, command);
        process.stdout.write(`${files.report}\nRewritten from ${flags.fromJson}: ${files.dir}\n`);
        return;
      }
      const command = `qwen3-serve bench serve ${process.argv.slice(4).join(' ')}`.trim();
      const quick = flags.quick === true;
      const models = flags.modelDir
        ? flags.modelDir.map((dir, i) => ({ label: dir, dir, extended: i < flags.extendedModels }))
        : flags.formats.map((format, i) => ({
            label: `qwen3-4b ${format} block ${FORMATS[format].blockSize}`,
            dir: ensureBenchModel(benchModel(format), flags.cache, progress),
            extended: i < flags.extendedModels,
          }));
      const [minTokens, maxTokens] = flags.contractTokens ?? (quick ? [256, 512] : [1024, 2048]);
      const concurrency = flags.concurrency ?? (quick ? [1, 4] : [1, 2, 4, 8, 16]);
      const result = await runServeBench({
        models,
        threads: flags.threads,
        maxSeqs: flags.maxSeqs,
        maxWaiting: flags.maxWaiting,
        sweep: { concurrency, inputTokens: flags.inputTokens, outputTokens: flags.outputTokens, minRequests: flags.minRequests },
        noBatchingConcurrency: flags.baselineConcurrency ?? (quick ? [4] : [8]),
        poisson: { rates: flags.rates ?? (quick ? [0.5] : [0.1]), requests: flags.poissonRequests ?? (quick ? 3 : 6) },
        contract: { requests: flags.contractRequests ?? (quick ? 1 : 2), minTokens, maxTokens, outputTokens: flags.contractOutputTokens, concurrency: 2 },
        prefillSettings: flags.prefillSettings ?? (quick ? [{ chunk: 128 }] : [{ chunk: 128 }, { chunk: 256 }]),
        transformersRequests: flags.transformersRequests ?? (quick ? 1 : 2),
        slo: flags.goodput,
        log: progress,
        onModelDone: (partial) => {
          mkdirSync(dir, { recursive: true });
          writeFileSync(join(dir, 'results.partial.json'), `${JSON.stringify({ command, ...partial }, null, 2)}\n`);
        },
      });
      const files = await writeServeBenchOutputs(result, dir, command);
      process.stdout.write(`${files.report}\nResults: ${files.dir} (results.json, report.md, ${files.charts.length} PNG plots)\n`);
    });
}

interface HttpFlags {
  quick?: boolean;
  cache: string;
  threads?: number;
  json?: string;
  modelDir?: string;
  maxSeqs: number;
  maxWaiting: number;
  connections: number;
}

function httpLoadCommand(): Command {
  const command = new Command('http')
    .description('HTTP robustness under autocannon on 127.0.0.1: overload (429 + Retry-After, no 5xx, flat memory), cheap requests while generating, mid-stream disconnects (no slot leak)')
    .option('--model-dir <dir>', 'model folder (default: the qwen3-4b int4 export in --cache)')
    .option('--max-seqs <n>', "the server's KV rows (small, so the queue is easy to overflow)", parsePositiveInt, 2)
    .option('--max-waiting <n>', "the server's queue beyond the running requests", parseNonNegativeInt, 2)
    .option('--connections <n>', 'concurrent connections of the overload', parsePositiveInt, 64);
  return withCommonOptions(command).action(async (flags: HttpFlags) => {
    const { runHttpLoad } = await import('../../loadtest/http/http-load.js');
    const { formatHttpLoad } = await import('../../loadtest/http/http-load-report.js');
    const quick = flags.quick === true;
    const modelDir = flags.modelDir ?? ensureBenchModel(benchModel('int4'), flags.cache, progress);
    const result = await runHttpLoad({
      server: { modelDir, maxSeqs: flags.maxSeqs, maxWaiting: flags.maxWaiting, threads: flags.threads },
      overload: { connections: flags.connections, amount: quick ? 500 : 5000, maxSeconds: quick ? 30 : 90, promptTokens: 8, maxTokens: 4 },
      cheap: { connections: 4, amount: quick ? 200 : 1000, maxSeconds: 20, generation: { streams: flags.maxSeqs, promptTokens: 16, maxTokens: quick ? 8 : 16 } },
      disconnects: { requests: quick ? 4 : 16, concurrency: flags.maxSeqs, abortAfterChunks: 1, promptTokens: 16, maxTokens: 512, settleSeconds: 60 },
      log: progress,
    });
    report('http', formatHttpLoad(result), result, flags.json);
  });
}

function progress(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** Prints the Markdown report on stdout and saves the raw result as JSON. */
function report(kind: string, markdown: string, result: unknown, jsonPath: string | undefined): void {
  const path = jsonPath ?? join('results', `bench-${kind}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${markdown}\n\nRaw results: ${path}\n`);
}

function parseRateList(value: string): number[] {
  return value.split(',').map((part) => {
    const rate = Number(part.trim());
    if (!(rate > 0) || !Number.isFinite(rate)) throw new InvalidArgumentError('expected positive request rates, e.g. 0.05,0.1');
    return rate;
  });
}

function parseRange(value: string): [number, number] {
  const match = /^(\d+)-(\d+)$/.exec(value.trim());
  if (!match || Number(match[1]) < 1 || Number(match[1]) > Number(match[2])) throw new InvalidArgumentError('expected MIN-MAX, e.g. 1024-2048');
  return [Number(match[1]), Number(match[2])];
}

/** `128,256:512`: prefill chunks, each with an optional step token budget. */
function parsePrefillSettings(value: string): { chunk: number; budget?: number }[] {
  return value.split(',').map((part) => {
    const [chunk, budget] = part.trim().split(':');
    return budget === undefined ? { chunk: parsePositiveInt(chunk) } : { chunk: parsePositiveInt(chunk), budget: parsePositiveInt(budget) };
  });
}

/** vLLM's --goodput syntax: `ttft:MS,tpot:MS,e2el:MS`, any subset. */
function parseGoodput(value: string): { ttftMs?: number; tpotMs?: number; e2eMs?: number } {
  const keys = { ttft: 'ttftMs', tpot: 'tpotMs', e2el: 'e2eMs' } as const;
  const slo: { ttftMs?: number; tpotMs?: number; e2eMs?: number } = {};
  for (const part of value.split(',')) {
    const [key, ms] = part.trim().split(':');
    const limit = Number(ms);
    if (!Object.hasOwn(keys, key) || !(limit > 0)) throw new InvalidArgumentError('expected e.g. ttft:21000,tpot:1000 (keys ttft, tpot, e2el; values in ms)');
    slo[keys[key as keyof typeof keys]] = limit;
  }
  return slo;
}

function parseFormats(value: string): FormatName[] {
  const names = value.split(',').map((part) => part.trim());
  for (const name of names) {
    if (!Object.hasOwn(FORMATS, name)) throw new InvalidArgumentError(`expected a list of ${Object.keys(FORMATS).join(', ')}`);
  }
  return names as FormatName[];
}
