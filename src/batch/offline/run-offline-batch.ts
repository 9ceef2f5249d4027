import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pino, type Logger } from 'pino';
import { createApp, DEFAULT_MAX_BODY_BYTES } from '../../api/app.js';
import { ServingState } from '../../api/serving-state.js';
import { DEFAULT_MAX_SEQS } from '../../engine/engine-config.js';
import { loadModel, type ServedModelConfig } from '../../load-model.js';
import { BatchService } from '../batch-service.js';
import { BatchInputError, parseBatchInput } from '../input/parse-batch-input.js';
import type { StoredBatch } from '../storage/batch-store.js';
import { DurableFileWriter } from '../storage/durable-file.js';
import { ServeError } from '../../errors.js';

export interface OfflineBatchOptions {
  inputPath: string;
  outputPath: string;
  /** The model as `serve` loads it: its engine and served name. */
  model: ServedModelConfig;
  /** Lines in flight at once; default the KV rows. */
  concurrency?: number;
  /** Default: warnings and errors on stderr. */
  logger?: Logger;
  /** Once the input is checked and the model loaded, with the number of requests. */
  onStart?: (total: number) => void;
  /** After each answered line. */
  onLineAnswered?: () => void;
}

export interface OfflineBatchSummary {
  total: number;
  succeeded: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
  /** From the model being loaded to the last line answered. */
  seconds: number;
}

/**
 * `vllm run-batch` for this server: runs a batch input file through the same executor and the
 * same in-process app as `serve` (so every output line is exactly what the Batch API would
 * write), on a private data directory that is removed afterwards, and writes one JSONL file with
 * every line's answer in input order: successes and failures together, as vLLM does.
 * A bad input file throws a ServeError naming the line before the model is loaded.
 */
export async function runOfflineBatch(options: OfflineBatchOptions): Promise<OfflineBatchSummary> {
  const content = readFileSync(options.inputPath);
  const lines = await parseBatchInput(content, { maxLines: Number.MAX_SAFE_INTEGER, maxBodyBytes: DEFAULT_MAX_BODY_BYTES });
  const endpoint = lines[0].url;
  const other = lines.find((line) => line.url !== endpoint);
  if (other) {
    throw new BatchInputError(
      other.lineNumber,
      new ServeError('invalid_request_error', `url ${other.url} differs from the first line's ${endpoint}: one batch runs one endpoint`, { code: 'mismatched_url' }),
    );
  }
  const logger = options.logger ?? pino({ level: 'warn' }, pino.destination(2));
  const concurrency = options.concurrency ?? options.model.engine.maxSeqs ?? DEFAULT_MAX_SEQS;
  const dataDir = mkdtempSync(join(tmpdir(), 'qwen3-serve-batch-'));
  const loaded = await loadModel(options.model, concurrency);
  const started = performance.now();
  let service: BatchService | null = null;
  try {
    const state = new ServingState();
    state.markReady(loaded.served);
    let onEnded: (batch: StoredBatch) => void = () => {};
    const ended = new Promise<StoredBatch>((resolve) => (onEnded = resolve));
    service = new BatchService({
      dataDir,
      maxLines: Number.MAX_SAFE_INTEGER,
      maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      modelName: loaded.served.name,
      concurrency,
      logger,
      onLineAnswered: () => options.onLineAnswered?.(),
      onBatchEnded: (batch) => onEnded(batch),
    });
    // The executor calls only the generation routes: no Files or Batch routes are mounted.
    const app = createApp({ state, logger });
    const file = await service.jobs.uploadFile(basename(options.inputPath), content);
    const batch = await service.jobs.createBatch({ inputFileId: file.id, endpoint, completionWindow: '24h', metadata: null });
    options.onStart?.(lines.length);
    service.start(app);
    const done = await ended;
    const seconds = (performance.now() - started) / 1000;
    await writeAllAnswers(service, batch.id, options.outputPath);
    return {
      total: done.counts.total,
      succeeded: done.counts.completed,
      failed: done.counts.failed,
      promptTokens: done.usage.inputTokens,
      completionTokens: done.usage.outputTokens,
      seconds,
    };
  } finally {
    await service?.stop();
    await loaded.engine.close();
    await loaded.served.prompts.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Every answered line of the batch, in input order, into `path` (complete or not at all). */
async function writeAllAnswers(service: BatchService, batchId: string, path: string): Promise<void> {
  const stores = (await service.jobs.data.open(false))!;
  const writer = await DurableFileWriter.create(path);
  try {
    for (let after = -1; ; ) {
      const page = await stores.batches.answeredLines(batchId, after, 500);
      if (page.length === 0) break;
      for (const line of page) await writer.write(`${line.output}\n`);
      after = page[page.length - 1].index;
    }
    await writer.finish();
  } catch (err) {
    await writer.abandon();
    throw err;
  }
}
