import { BatchInputError, parseBatchInput, type BatchInputLimits } from '../input/parse-batch-input.js';
import type { BatchStores } from '../storage/batch-data.js';
import type { BatchError, StoredBatch } from '../storage/batch-store.js';

/** Lines named in a failed batch's errors when many do not match its endpoint. */
const MAX_REPORTED_LINES = 10;

/**
 * The `validating` step: reads the batch's input file, checks it again (it was checked on
 * upload, but limits may have changed since) and that every line's url is the batch's endpoint,
 * then copies its requests into the batch (in_progress) or records why not (failed), in one
 * transaction either way.
 */
export async function validateBatch(stores: BatchStores, batch: StoredBatch, limits: BatchInputLimits): Promise<void> {
  const file = await stores.files.get(batch.inputFileId);
  if (!file) {
    await stores.batches.failValidation(batch.id, [
      { code: 'missing_input_file', line: null, message: `the input file ${batch.inputFileId} no longer exists`, param: 'input_file_id' },
    ]);
    return;
  }
  let lines;
  try {
    lines = await parseBatchInput(await stores.files.readContent(file.id), limits);
  } catch (err) {
    if (!(err instanceof BatchInputError)) throw err;
    await stores.batches.failValidation(batch.id, [{ code: err.code ?? 'invalid_file', line: err.line, message: err.message, param: null }]);
    return;
  }
  const mismatched = lines.filter((line) => line.url !== batch.endpoint);
  if (mismatched.length > 0) {
    const errors: BatchError[] = mismatched.slice(0, MAX_REPORTED_LINES).map((line) => ({
      code: 'mismatched_url',
      line: line.lineNumber,
      message: `line ${line.lineNumber}: url ${line.url} is not the batch's endpoint ${batch.endpoint}`,
      param: 'url',
    }));
    await stores.batches.failValidation(batch.id, errors);
    return;
  }
  await stores.batches.startRunning(batch.id, lines);
}
