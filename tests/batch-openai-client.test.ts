import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepReport } from '../src/engine/step-report.js';
import {
  fileText,
  generationContent,
  greedyChatLine,
  jsonl,
  parseOutput,
  uploadBatchFile,
  waitForBatch,
  type InputLine,
} from './helpers/batch-files.js';
import { openApiValidator, startTestServer, type TestServer } from './helpers/server.js';

/**
 * The Batch API driven by the official OpenAI SDK against a real server on the tiny model:
 * upload, create, poll, list, download, cancel, bad files, and a batch beside interactive traffic.
 */
describe('the Batch API through the OpenAI SDK', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'batch-api-'));
  let server: TestServer;
  let client: OpenAI;
  const validate = openApiValidator();
  const reports: StepReport[] = [];

  beforeAll(async () => {
    server = await startTestServer({ dataDir, engine: { maxSeqs: 4 }, maxFileBytes: 64 * 1024 });
    client = server.openai();
    server.handle.engine!.onStep((report) => reports.push(report));
  });
  afterAll(async () => {
    await server?.handle.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs a batch end to end: every line answered once, in input order, exactly as the endpoint answers it', async () => {
    const lines: InputLine[] = [
      greedyChatLine('contract-1', 'Summarize: the tenant pays rent monthly.', 8),
      greedyChatLine('contract-2', 'Summarize: the supplier delivers within 30 days.', 6),
      { custom_id: 'wrong-model', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] } },
      greedyChatLine('contract-3', 'Summarize: either party may terminate with notice.', 7),
      { custom_id: 'too-long', method: 'POST', url: '/v1/chat/completions', body: { messages: [{ role: 'user', content: 'hi' }], max_tokens: 1_000_000 } },
    ];
    const file = await uploadBatchFile(client, jsonl(lines), 'contracts.jsonl');
    expect(validate('FileObject', file)).toEqual([]);
    expect(file).toMatchObject({ object: 'file', purpose: 'batch', filename: 'contracts.jsonl', status: 'processed', bytes: Buffer.byteLength(jsonl(lines)) });
    expect(await (await client.files.content(file.id)).text()).toBe(jsonl(lines));

    const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { project: 'contracts' } });
    expect(validate('Batch', created)).toEqual([]);
    expect(created).toMatchObject({ object: 'batch', status: 'validating', input_file_id: file.id, completion_window: '24h', metadata: { project: 'contracts' }, model: 'int4' });
    expect(created.expires_at! - created.created_at).toBe(24 * 3600);

    const batch = await waitForBatch(client, created.id);
    expect(validate('Batch', batch)).toEqual([]);
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toEqual({ total: 5, completed: 3, failed: 2 });
    for (const field of ['in_progress_at', 'finalizing_at', 'completed_at'] as const) expect(batch[field]).toBeGreaterThanOrEqual(batch.created_at);
    expect(batch.cancelled_at ?? null).toBeNull();

    const output = parseOutput(await fileText(client, batch.output_file_id));
    const errors = parseOutput(await fileText(client, batch.error_file_id));
    for (const line of [...output, ...errors]) expect(validate('BatchRequestOutput', line)).toEqual([]);
    expect(output.map((l) => l.custom_id)).toEqual(['contract-1', 'contract-2', 'contract-3']);
    expect(errors.map((l) => [l.custom_id, l.response?.status_code])).toEqual([
      ['wrong-model', 404],
      ['too-long', 400],
    ]);
    expect(new Set([...output, ...errors].map((l) => l.id)).size).toBe(5);

    // Each answer is what the endpoint answers over HTTP: the same greedy text and usage, and
    // for errors the very same bytes.
    let usage = { input: 0, output: 0 };
    for (const line of output) {
      const request = lines.find((l) => l.custom_id === line.custom_id)!;
      const direct = (await (await server.post(request.url, request.body)).json()) as Record<string, unknown>;
      expect(generationContent(line.response!.body)).toEqual(generationContent(direct));
      const lineUsage = line.response!.body.usage as { prompt_tokens: number; completion_tokens: number; prompt_tokens_details: { cached_tokens: number } };
      expect(lineUsage.prompt_tokens_details.cached_tokens).toBeLessThan(lineUsage.prompt_tokens);
      usage = { input: usage.input + lineUsage.prompt_tokens, output: usage.output + lineUsage.completion_tokens };
    }
    const errorText = await fileText(client, batch.error_file_id);
    for (const line of errors) {
      const request = lines.find((l) => l.custom_id === line.custom_id)!;
      const direct = await server.post(request.url, request.body);
      expect(direct.status).toBe(line.response!.status_code);
      expect(errorText).toContain(`"body":${await direct.text()}}`);
    }
    expect(batch.usage).toMatchObject({ input_tokens: usage.input, output_tokens: usage.output, total_tokens: usage.input + usage.output });

    // The lines ran at batch priority; the server log names each one by its output id.
    const logged = server.logs.filter((l) => l.msg === 'request' && typeof l.requestId === 'string' && l.requestId.startsWith('batch_req_'));
    expect(logged.map((l) => l.requestId).sort()).toEqual([...output, ...errors].map((l) => l.id).sort());

    const listed = await client.batches.list();
    expect(listed.data.map((b) => b.id)).toContain(batch.id);
    expect(validate('BatchList', await (await fetch(`${server.url}/v1/batches`)).json())).toEqual([]);
    const outputFile = await client.files.retrieve(batch.output_file_id!);
    expect(outputFile).toMatchObject({ purpose: 'batch_output', filename: `${batch.id}_output.jsonl` });
  });

  it('refuses a bad file with a 400 that names the line and the reason', async () => {
    const good = greedyChatLine('ok', 'hi', 4);
    const cases: [string, string, RegExp][] = [
      ['not JSON', `${JSON.stringify(good)}\n{"custom_id": "x",\n`, /^line 2: not valid JSON/],
      ['not an object', `${JSON.stringify(good)}\n[1, 2]\n`, /^line 2: a line must be a JSON object/],
      ['duplicate custom_id', jsonl([good, good]), /^line 2: custom_id 'ok' is already used on line 1/],
      ['method', jsonl([{ ...good, method: 'GET' }]), /^line 1: method must be 'POST'/],
      ['url', jsonl([{ ...good, url: '/v1/embeddings' }]), /^line 1: url must be one of \/v1\/chat\/completions, \/v1\/completions/],
      ['missing body', jsonl([{ custom_id: 'a', method: 'POST', url: '/v1/completions' }]), /^line 1: body is required/],
      ['body against the schema', jsonl([good, { ...good, custom_id: 'b', body: { messages: [{ role: 'user', content: 'x' }], temperature: 3 } }]), /^line 2: body\.temperature must be at most 2, got 3/],
      ['unknown body field', jsonl([{ ...good, body: { ...good.body, frobnicate: 1 } }]), /^line 1: Unsupported parameter: 'body\.frobnicate'/],
      ['wrong body for the url', jsonl([{ ...good, url: '/v1/completions' }]), /^line 1: .*body\.(prompt|messages)/],
      ['streaming', jsonl([{ ...good, body: { ...good.body, stream: true } }]), /^line 1: body\.stream: streaming is not supported in a batch/],
      ['unknown line field', jsonl([{ ...good, extra: 1 }]), /^line 1: Unsupported parameter: 'extra'/],
      ['empty', '\n\n', /^the file has no requests/],
    ];
    for (const [name, text, message] of cases) {
      const refusal = await uploadBatchFile(client, text).then(
        () => null,
        (err: unknown) => err,
      );
      expect(refusal, name).toBeInstanceOf(OpenAI.BadRequestError);
      const error = refusal as InstanceType<typeof OpenAI.BadRequestError>;
      expect(error.message, name).toMatch(new RegExp(`^400 ${message.source.slice(1)}`));
      expect(error.type, name).toBe('invalid_request_error');
      expect(error.param, name).toBe('file');
    }
    // Too big for --max-file-bytes (64 KiB here): 413.
    const big = jsonl(Array.from({ length: 700 }, (_, i) => greedyChatLine(`c${i}`, 'Summarize this contract clause, please.', 4)));
    await expect(uploadBatchFile(client, big)).rejects.toMatchObject({ status: 413, type: 'request_too_large' });
    // Only purpose batch is stored.
    const { toFile } = await import('openai');
    await expect(client.files.create({ file: await toFile(Buffer.from(jsonl([good])), 'x.jsonl'), purpose: 'fine-tune' })).rejects.toMatchObject({ status: 400, param: 'purpose' });
  });

  it('files: get, list with pagination, delete; batches: create checks and pagination', async () => {
    const uploaded = [];
    for (let i = 0; i < 3; i++) uploaded.push(await uploadBatchFile(client, jsonl([{ ...greedyChatLine(`f${i}`, 'hi', 2), url: '/v1/chat/completions' }]), `f${i}.jsonl`));
    const firstPage = await client.files.list({ limit: 2, purpose: 'batch' });
    expect(validate('FileList', await (await fetch(`${server.url}/v1/files?limit=2`)).json())).toEqual([]);
    expect(firstPage.data.map((f) => f.id)).toEqual([uploaded[2].id, uploaded[1].id]);
    expect(firstPage.has_more).toBe(true);
    const secondPage = await firstPage.getNextPage();
    expect(secondPage.data[0].id).toBe(uploaded[0].id);
    expect(await client.files.retrieve(uploaded[0].id)).toEqual(uploaded[0]);
    expect(await client.files.delete(uploaded[0].id)).toEqual({ id: uploaded[0].id, object: 'file', deleted: true });
    await expect(client.files.retrieve(uploaded[0].id)).rejects.toMatchObject({ status: 404, code: 'file_not_found' });
    await expect(client.files.content(uploaded[0].id)).rejects.toMatchObject({ status: 404 });
    await expect(client.files.delete(uploaded[0].id)).rejects.toMatchObject({ status: 404 });

    await expect(client.batches.create({ input_file_id: 'file-missing', endpoint: '/v1/chat/completions', completion_window: '24h' })).rejects.toMatchObject({ status: 404, param: 'file_id' });
    await expect(
      client.batches.create({ input_file_id: uploaded[1].id, endpoint: '/v1/chat/completions', completion_window: '1h' as '24h' }),
    ).rejects.toMatchObject({ status: 400, param: 'completion_window' });
    await expect(client.batches.create({ input_file_id: uploaded[1].id, endpoint: '/v1/embeddings', completion_window: '24h' })).rejects.toMatchObject({ status: 400, param: 'endpoint' });
    await expect(client.batches.retrieve('batch_missing')).rejects.toMatchObject({ status: 404, code: 'batch_not_found' });

    // Lines whose url is not the batch's endpoint: the batch fails validation, naming them.
    const mismatched = await client.batches.create({ input_file_id: uploaded[1].id, endpoint: '/v1/completions', completion_window: '24h' });
    const failed = await waitForBatch(client, mismatched.id);
    expect(failed.status).toBe('failed');
    expect(failed.errors?.data).toEqual([{ code: 'mismatched_url', line: 1, param: 'url', message: expect.stringContaining('line 1: url /v1/chat/completions') }]);
    await expect(client.batches.cancel(failed.id)).rejects.toMatchObject({ status: 400, code: 'batch_not_cancellable' });

    const more = [];
    for (let i = 0; i < 2; i++) more.push(await client.batches.create({ input_file_id: uploaded[2].id, endpoint: '/v1/chat/completions', completion_window: '24h' }));
    const page = await client.batches.list({ limit: 2 });
    expect(page.data.map((b) => b.id)).toEqual([more[1].id, more[0].id]);
    expect(page.has_more).toBe(true);
    const next = await client.batches.list({ limit: 1, after: more[0].id });
    expect(next.data[0].id).toBe(failed.id);
    for (const b of more) await waitForBatch(client, b.id);
  });

  it('cancels a batch mid-run: answers so far are kept, the rest are batch_cancelled, the engine is freed', async () => {
    const lines = Array.from({ length: 16 }, (_, i) => greedyChatLine(`long-${i}`, `Summarize contract number ${i} in detail.`, 48));
    const file = await uploadBatchFile(client, jsonl(lines));
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await waitForBatch(client, batch.id, 60_000, (b) => (b.request_counts?.completed ?? 0) >= 2);
    const cancelling = await client.batches.cancel(batch.id);
    expect(['cancelling', 'cancelled']).toContain(cancelling.status);
    expect(cancelling.cancelling_at).toBeTypeOf('number');
    const cancelled = await waitForBatch(client, batch.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.cancelled_at).toBeGreaterThanOrEqual(cancelling.cancelling_at!);
    const output = parseOutput(await fileText(client, cancelled.output_file_id));
    const errors = parseOutput(await fileText(client, cancelled.error_file_id));
    expect(output.length).toBe(cancelled.request_counts!.completed);
    expect(output.length).toBeGreaterThanOrEqual(2);
    expect(output.length).toBeLessThan(16);
    expect(errors.every((l) => l.response === null && l.error?.code === 'batch_cancelled')).toBe(true);
    expect([...output, ...errors].map((l) => l.custom_id).sort()).toEqual(lines.map((l) => l.custom_id).sort());
    expect(cancelled.request_counts).toEqual({ total: 16, completed: output.length, failed: errors.length });
    await expect.poll(() => server.handle.engine!.inFlight, { timeout: 5000 }).toBe(0);
    // Cancelling again changes nothing.
    expect((await client.batches.cancel(batch.id)).status).toBe('cancelled');
  });

  it('interactive requests beside a running batch are all served (no 429) and overtake it', async () => {
    const lines = Array.from({ length: 12 }, (_, i) => greedyChatLine(`bg-${i}`, `Summarize the lease agreement ${i}.`, 64));
    const file = await uploadBatchFile(client, jsonl(lines));
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await waitForBatch(client, batch.id, 60_000, (b) => b.status === 'in_progress');
    await expect.poll(() => server.handle.engine!.inFlight, { timeout: 10_000 }).toBeGreaterThanOrEqual(4);
    const preemptionsBefore = reports.at(-1)!.scheduler.priorityPreemptionsTotal;

    const interactive = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        client.chat.completions.create({ model: 'int4', messages: [{ role: 'user', content: `Quick question ${i}?` }], max_tokens: 8, temperature: 0 }),
      ),
    );
    for (const answer of interactive) expect(answer.choices[0].finish_reason).toMatch(/stop|length/);
    const during = await client.batches.retrieve(batch.id);
    expect(during.status).toBe('in_progress');
    // The batch's lines held every row; interactive requests took rows from them (batch priority).
    expect(reports.at(-1)!.scheduler.priorityPreemptionsTotal).toBeGreaterThan(preemptionsBefore);
    const done = await waitForBatch(client, batch.id, 120_000);
    expect(done.request_counts).toEqual({ total: 12, completed: 12, failed: 0 });
  });
});
