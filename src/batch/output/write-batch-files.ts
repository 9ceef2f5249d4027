import { newFileId } from '../batch-ids.js';
import type { BatchStores } from '../storage/batch-data.js';
import type { StoredBatch } from '../storage/batch-store.js';
import type { FileContentWriter, StoredFile } from '../storage/file-store.js';
import { unixNow } from '../unix-time.js';

/** Lines read from the database per query: bounded memory, and the event loop breathes between pages. */
const PAGE_LINES = 500;

/**
 * Finalizes a batch that has an ending: writes its output file (answers with status 2xx) and
 * error file (the rest), each in input order, from the committed answers alone, then records
 * them and the terminal status in one transaction. A crash anywhere before that transaction
 * leaves the batch as it was (files without rows are swept at the next start) and this runs
 * again; after it, the batch is done. A file with no lines is not created (its id stays null,
 * as OpenAI does).
 */
export async function finalizeBatch(stores: BatchStores, batch: StoredBatch): Promise<void> {
  if (batch.ending === null || batch.status === batch.ending) return;
  const output = new PendingFile(stores, `${batch.id}_output.jsonl`);
  const errors = new PendingFile(stores, `${batch.id}_error.jsonl`);
  try {
    let after = -1;
    for (;;) {
      const page = await stores.batches.answeredLines(batch.id, after, PAGE_LINES);
      if (page.length === 0) break;
      for (const line of page) await (line.succeeded ? output : errors).write(`${line.output}\n`);
      after = page[page.length - 1].index;
    }
    const [outputFile, errorFile] = [await output.finish(), await errors.finish()];
    if (!(await stores.batches.finish(batch.id, outputFile, errorFile))) {
      // Someone (another replica) finished it meanwhile: these bytes are nobody's.
      for (const file of [outputFile, errorFile]) if (file) await stores.files.discardContent(file.id);
    }
  } catch (err) {
    await output.abandon();
    await errors.abandon();
    throw err;
  }
}

/** An output file created on its first line. */
class PendingFile {
  private writer: FileContentWriter | null = null;
  private readonly id = newFileId();

  constructor(
    private readonly stores: BatchStores,
    private readonly filename: string,
  ) {}

  async write(text: string): Promise<void> {
    this.writer ??= await this.stores.files.contentWriter(this.id);
    await this.writer.write(text);
  }

  /** The durable file's row-to-be, or null if no line was written. */
  async finish(): Promise<StoredFile | null> {
    if (!this.writer) return null;
    const bytes = await this.writer.finish();
    this.writer = null;
    return { id: this.id, filename: this.filename, purpose: 'batch_output', bytes, createdAt: unixNow() };
  }

  async abandon(): Promise<void> {
    await this.writer?.abandon();
  }
}
