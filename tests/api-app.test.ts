import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.js';
import type { MetricsRenderer } from '../src/api/observability.js';
import { openApiYaml } from '../src/api/openapi/document.js';
import { ServingState, type GenerationEngine, type ServedModel } from '../src/api/serving-state.js';
import { loadTokenizer } from '../src/model/tokenizer/load-tokenizer.js';
import { InlinePromptEncoder } from '../src/model/tokenizer/prompt-encoder.js';
import { tinyModelDir } from './helpers/models.js';
import { memoryLogger } from './helpers/server.js';

/**
 * The Hono app on its own (app.request(), no socket, no model): the phases a server goes
 * through, the probes, /metrics and /openapi.yaml.
 */
describe('the HTTP app without a loaded model', () => {
  const chatBody = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] });
  const post = (app: ReturnType<typeof createApp>, path: string, body = chatBody) => app.request(path, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

  it('while loading: /health 200, /ready 503, work 503 with Retry-After', async () => {
    const state = new ServingState();
    const app = createApp({ state, logger: memoryLogger().logger });
    expect(await (await app.request('/health')).json()).toEqual({ status: 'ok' });
    const ready = await app.request('/ready');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'loading', model: null });
    for (const path of ['/v1/chat/completions', '/v1/completions', '/v1/qwen3/instruct', '/tokenize']) {
      const response = await post(app, path);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(await response.json()).toMatchObject({ error: { type: 'service_unavailable', code: 'model_loading' } });
    }
    expect((await app.request('/v1/models')).status).toBe(503);
  });

  it('after a failed load: /ready 503 with the reason; work 503 naming it', async () => {
    const state = new ServingState();
    state.markFailed('genai_config.json is missing');
    const app = createApp({ state, logger: memoryLogger().logger });
    expect(await (await app.request('/ready')).json()).toEqual({ status: 'failed', model: null, error: 'genai_config.json is missing' });
    const response = await post(app, '/v1/chat/completions');
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('genai_config.json is missing');
  });

  describe('with a model (a stand-in engine that must not be reached)', () => {
    let served: ServedModel;
    beforeAll(async () => {
      const engine: GenerationEngine = {
        info: { contextLimit: 64, vocabSize: 151936 } as GenerationEngine['info'],
        inFlight: 0,
        state: 'ready',
        submit: () => {
          throw new Error('these tests never reach the engine');
        },
      };
      served = { name: 'tiny', engine, ...(await servedTokenizers(tinyModelDir('int4'))), samplingDefaults: {}, created: 0 };
    });

    it('ready: /ready 200; draining: /ready 503 and new work 503 draining', async () => {
      const state = new ServingState();
      state.markReady(served);
      const app = createApp({ state, logger: memoryLogger().logger });
      expect(await (await app.request('/ready')).json()).toEqual({ status: 'ready', model: 'tiny' });
      expect((await app.request('/v1/models')).status).toBe(200);
      state.markDraining();
      const ready = await app.request('/ready');
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'draining', model: 'tiny' });
      const refused = await post(app, '/v1/chat/completions');
      expect(refused.status).toBe(503);
      expect(await refused.json()).toMatchObject({ error: { type: 'service_unavailable', code: 'draining' } });
      expect((await app.request('/health')).status).toBe(200);
    });

    it('a loaded engine whose worker died makes the server unready', async () => {
      const state = new ServingState();
      state.markReady({ ...served, engine: { ...served.engine, state: 'failed' } });
      const app = createApp({ state, logger: memoryLogger().logger });
      const ready = await app.request('/ready');
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'failed', model: 'tiny', error: 'the engine worker stopped' });
      expect(await (await post(app, '/v1/chat/completions')).json()).toMatchObject({ error: { type: 'service_unavailable', code: 'model_unavailable' } });
    });

    it('an unexpected failure is a 500 in the envelope, logged with its cause, not leaked', async () => {
      const state = new ServingState();
      state.markReady(served);
      const { logger, lines } = memoryLogger();
      const app = createApp({ state, logger });
      const response = await post(app, '/v1/chat/completions', JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }));
      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({ error: { message: 'internal server error', type: 'server_error', param: null, code: 'internal_error' } });
      expect(lines.some((l) => l.msg === 'unexpected error answered as 500' && JSON.stringify(l).includes('never reach the engine'))).toBe(true);
    });
  });

  describe('/metrics and /openapi.yaml', () => {
    let app: ReturnType<typeof createApp>;
    const metrics: MetricsRenderer = { contentType: 'text/plain; version=0.0.4; charset=utf-8', render: async () => 'vllm:num_requests_running{model_name="tiny"} 0\n' };
    beforeAll(() => {
      app = createApp({ state: new ServingState(), logger: memoryLogger().logger, metrics, apiKey: 'k' });
    });

    it("serves the renderer's text with its content type, without the API key", async () => {
      const response = await app.request('/metrics');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(metrics.contentType);
      expect(await response.text()).toContain('vllm:num_requests_running');
    });

    it('is a 404 without a renderer', async () => {
      const bare = createApp({ state: new ServingState(), logger: memoryLogger().logger });
      expect((await bare.request('/metrics')).status).toBe(404);
    });

    it('serves the OpenAPI document', async () => {
      const response = await app.request('/openapi.yaml');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/yaml/);
      expect(await response.text()).toBe(openApiYaml());
    });
  });

});

/** The main thread's tokenizer and an inline prompt encoder over it, as a ServedModel holds them. */
async function servedTokenizers(modelDir: string) {
  const tokenizer = await loadTokenizer(modelDir);
  return { tokenizer, prompts: new InlinePromptEncoder(tokenizer) };
}
