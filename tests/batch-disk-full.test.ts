import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from '../src/batch/storage/sqlite/sqlite-database.js';
import { fileText, greedyChatLine, jsonl, parseOutput, uploadBatchFile, waitForBatch } from './helpers/batch-files.js';
import { tinyModelDir } from './helpers/models.js';
import { spawnServe, waitReady, type ServeProcess } from './helpers/serve-process.js';

/** Room for the database, the input file and a few answers, far short of the whole batch's. */
const FILE_SIZE_LIMIT_KIB = 160;
const LINES = 40;

/**
 * The data directory fills up in the middle of a batch, with a real process: `serve` runs under
 * a file-size limit (writes past it fail with EFBIG, as on a full disk). The answers that cannot
 * be stored are reported as a clear error and stay pending; the server keeps answering; started
 * again with room on the same --data-dir, the batch completes with every line exactly once, and
 * SQLite's integrity check passes.
 */
describe('a batch whose data directory fills up', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'batch-disk-full-'));
  const children: ServeProcess[] = [];
  afterAll(() => {
    for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function serve(limits: { fileSizeKiB?: number } = {}): Promise<{ process: ServeProcess; client: OpenAI }> {
    const process = spawnServe(['--model', tinyModelDir('int4'), '--port', '0', '--max-seqs', '4', '--data-dir', dataDir], {}, limits);
    children.push(process);
    await waitReady(process);
    return { process, client: new OpenAI({ baseURL: `${await process.url}/v1`, apiKey: 'unused', maxRetries: 0 }) };
  }

  const logLines = (process: ServeProcess) =>
    process
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it('reports the failed writes, keeps the lines pending, and finishes every line once after a restart with room', async () => {
    const lines = Array.from({ length: LINES }, (_, i) => greedyChatLine(`contract-${i}`, `Summarize contract ${i}: the buyer pays within ${i + 10} days.`, 48));
    const full = await serve({ fileSizeKiB: FILE_SIZE_LIMIT_KIB });
    const file = await uploadBatchFile(full.client, jsonl(lines));
    const batch = await full.client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });

    // The first answer that does not fit is logged as a storage failure, naming the data directory.
    const deadline = Date.now() + 60_000;
    let failure: Record<string, unknown> | undefined;
    while (!(failure = logLines(full.process).find((line) => line.level === 50 && String(line.msg).includes('could not be stored')))) {
      if (Date.now() > deadline) throw new Error(`no storage failure logged:\n${full.process.stdout()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(failure).toMatchObject({ dataDir, batchId: batch.id });
    expect(String(failure.code)).toMatch(/^SQLITE_(FULL|IOERR)/);

    // The batch is stuck short of the end, still in progress, and the server still answers.
    const stuck = await full.client.batches.retrieve(batch.id);
    expect(stuck.status).toBe('in_progress');
    expect(stuck.request_counts!.completed).toBeGreaterThan(0);
    expect(stuck.request_counts!.completed).toBeLessThan(LINES);
    const chat = await full.client.chat.completions.create({ model: 'int4', messages: [{ role: 'user', content: 'still there?' }], max_tokens: 2 });
    expect(chat.usage?.completion_tokens).toBe(2);
    full.process.child.kill('SIGTERM');
    await full.process.exited;

    const roomy = await serve();
    const done = await waitForBatch(roomy.client, batch.id, 120_000);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: LINES, completed: LINES, failed: 0 });
    const output = parseOutput(await fileText(roomy.client, done.output_file_id));
    expect(output.map((line) => line.custom_id)).toEqual(lines.map((line) => line.custom_id));
    roomy.process.child.kill('SIGTERM');
    expect(await roomy.process.exited).toBe(0);

    const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const states = db.prepare('SELECT state, count(*) AS n FROM batch_lines WHERE batch_id = ? GROUP BY state').all(batch.id);
      expect(states).toEqual([{ state: 'succeeded', n: LINES }]);
    } finally {
      db.close();
    }
  });
});
