import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.js';
import { ServingState, type GenerationEngine } from '../src/api/serving-state.js';
import type { GenerationRequest } from '../src/engine/generation.js';
import { ServeError } from '../src/errors.js';
import { loadTokenizer } from '../src/model/tokenizer/load-tokenizer.js';
import { InlinePromptEncoder } from '../src/model/tokenizer/prompt-encoder.js';
import { greedyChatLine, jsonl, uploadBatchFile, waitForBatch } from './helpers/batch-files.js';
import { tinyModelDir } from './helpers/models.js';
import { memoryLogger, startTestServer } from './helpers/server.js';

/**
 * Batch priority reaches the engine only from in-process calls (Hono's `env`), never from an
 * HTTP client; and batch lines carry the API key when the server has one.
 */
describe('batch priority and the in-process path', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('an in-process call with { priority: "batch" } plans a batch request; over HTTP every request is interactive', async () => {
    const submitted: GenerationRequest[] = [];
    const engine: GenerationEngine = {
      info: { contextLimit: 256, vocabSize: 151936 } as GenerationEngine['info'],
      inFlight: 0,
      state: 'ready',
      // Records the request, then refuses it: the route answers 429 and nothing runs.
      submit: (request) => {
        submitted.push(request);
        throw new ServeError('rate_limit_error', 'recorded', { code: 'queue_full' });
      },
    };
    const state = new ServingState();
    state.markReady({ name: 'tiny', engine, ...(await servedTokenizers(tinyModelDir('int4'))), samplingDefaults: {}, created: 0 });
    const app = createApp({ state, logger: memoryLogger().logger });
    const init = () => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }) });
    const completionInit = () => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'hi', max_tokens: 2 }) });

    expect((await app.request('/v1/chat/completions', init(), { priority: 'batch' })).status).toBe(429);
    expect((await app.request('/v1/completions', completionInit(), { priority: 'batch' })).status).toBe(429);
    expect((await app.request('/v1/chat/completions', init())).status).toBe(429);
    expect(submitted.map((r) => r.priority)).toEqual(['batch', 'batch', 'interactive']);

    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Nothing a client sends (headers, query, body fields) reaches the environment.
    await fetch(`${url}/v1/chat/completions?priority=batch`, { ...init(), headers: { 'content-type': 'application/json', priority: 'batch', 'x-priority': 'batch' } });
    expect((await fetch(`${url}/v1/chat/completions`, { ...init(), body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], priority: 'batch' }) })).status).toBe(400);
    expect(submitted.slice(3).map((r) => r.priority)).toEqual(['interactive']);
  });

  it('with --api-key, batch lines carry the key through the in-process path', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'batch-key-'));
    const server = await startTestServer({ dataDir, apiKey: 'secret-key' });
    cleanups.push(async () => {
      await server.handle.close();
      rmSync(dataDir, { recursive: true, force: true });
    });
    await expect(server.openai().files.list()).rejects.toMatchObject({ status: 401 });
    const client = server.openai({ apiKey: 'secret-key' });
    const file = await uploadBatchFile(client, jsonl([greedyChatLine('only', 'hi', 3)]));
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    expect((await waitForBatch(client, batch.id)).request_counts).toEqual({ total: 1, completed: 1, failed: 0 });
  });
});

/** The main thread's tokenizer and an inline prompt encoder over it, as a ServedModel holds them. */
async function servedTokenizers(modelDir: string) {
  const tokenizer = await loadTokenizer(modelDir);
  return { tokenizer, prompts: new InlinePromptEncoder(tokenizer) };
}
