import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sseData } from './helpers/server.js';
import { spawnServe, waitReady, type ServeProcess } from './helpers/serve-process.js';
import { tinyModelDir } from './helpers/models.js';

/** `qwen3-serve serve` as a real child process: the built-in model, env flags, SIGTERM drain, CUDA errors. */
describe('qwen3-serve serve (child process)', () => {
  const cache = mkdtempSync(join(tmpdir(), 'qwen3-serve-cache-'));
  const children: ServeProcess[] = [];
  afterAll(() => {
    for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(cache, { recursive: true, force: true });
  });

  function serve(args: string[], env: Record<string, string> = {}): ServeProcess {
    const process = spawnServe(args, env);
    children.push(process);
    return process;
  }

  /** The request log lines a child wrote on stdout. */
  const requestLines = (server: ServeProcess) =>
    server
      .stdout()
      .split('\n')
      .filter((l) => l.includes('"msg":"request"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  const chat = (url: string, body: object) =>
    fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'Tell me a story.' }], ...body }) });

  it('without --model writes and serves the built-in test model (with a banner); SIGTERM drains: in-flight work finishes, new work gets 503, exit 0', async () => {
    // Flags through the environment: QWEN3_SERVE_PORT, QWEN3_SERVE_DRAIN_TIMEOUT, QWEN3_SERVE_LOG_PROMPTS.
    const server = serve([], { XDG_CACHE_HOME: cache, QWEN3_SERVE_PORT: '0', QWEN3_SERVE_DRAIN_TIMEOUT: '60', QWEN3_SERVE_LOG_PROMPTS: '1', QWEN3_SERVE_MODEL: '' });
    const url = await server.url;
    await waitReady(server);
    expect(server.stderr()).toContain('built-in TEST model');
    expect(server.stderr()).toContain('qwen3-serve export --checkpoint');

    const inFlight = await chat(url, { max_tokens: 600, ignore_eos: true, temperature: 0, stream: true });
    const reader = inFlight.body!.getReader();
    let text = new TextDecoder().decode((await reader.read()).value);
    server.child.kill('SIGTERM');
    // Draining: the probe says so and new work is refused, while the stream goes on.
    await expect.poll(async () => (await fetch(`${url}/ready`)).status, { timeout: 5000 }).toBe(503);
    expect(await (await fetch(`${url}/ready`)).json()).toMatchObject({ status: 'draining' });
    const refused = await chat(url, { max_tokens: 2 });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { type: 'service_unavailable', code: 'draining' } });
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const data = sseData(text);
    expect(data.at(-1)).toBe('[DONE]');
    const finishes = data.slice(0, -1).flatMap((d) => (JSON.parse(d) as { choices: { finish_reason: string | null }[] }).choices.map((c) => c.finish_reason)).filter(Boolean);
    expect(finishes).toEqual(['length']);
    expect(await server.exited).toBe(0);
    // --log-prompts: the request's line carries the rendered prompt and the output.
    const line = requestLines(server).find((l) => l.route === '/v1/chat/completions' && l.status === 200);
    expect(line).toMatchObject({ completionTokens: 600 });
    expect(line!.prompt).toContain('Tell me a story.');
    expect(typeof line!.output === 'string' && line!.output.length > 0).toBe(true);
  });

  it('past --drain-timeout, in-flight requests are cut off with an error event, and the exit is still 0', async () => {
    const server = serve(['--model', tinyModelDir('int4'), '--port', '0', '--drain-timeout', '0.5']);
    const url = await server.url;
    await waitReady(server);
    const inFlight = await chat(url, { max_tokens: 4000, ignore_eos: true, stream: true });
    const reader = inFlight.body!.getReader();
    let text = new TextDecoder().decode((await reader.read()).value);
    server.child.kill('SIGTERM');
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const data = sseData(text);
    expect(data.at(-1)).toBe('[DONE]');
    expect(JSON.parse(data.at(-2)!)).toMatchObject({ error: { type: 'service_unavailable', code: 'shutting_down' } });
    expect(await server.exited).toBe(0);
    // One log line per request, written when the stream ended, without the prompt text.
    const line = requestLines(server).filter((l) => l.route === '/v1/chat/completions').at(-1);
    expect(line).toMatchObject({ method: 'POST', status: 200, error: { code: 'shutting_down' } });
    expect(server.stdout()).not.toContain('Tell me a story');
  });

  it('--device cuda without the CUDA provider exits non-zero saying how to install it', async () => {
    const server = serve(['--model', tinyModelDir('int4'), '--port', '0', '--device', 'cuda']);
    const outcome = await Promise.race([server.exited.then((code) => ({ code })), waitReady(server).then(() => ({ code: 'ready' as const }))]);
    if (outcome.code === 'ready') {
      // A machine with CUDA: the provider loaded, so the server serves; stop it cleanly.
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      return;
    }
    expect(outcome.code).toBe(1);
    expect(server.stderr()).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12');
  });

  it('rejects bad flags with a clear message', async () => {
    const server = serve(['--model', tinyModelDir('int4'), '--kv-memory', 'lots']);
    expect(await server.exited).not.toBe(0);
    expect(server.stderr()).toMatch(/kv-memory.*expected a size in bytes/);
  });
});
