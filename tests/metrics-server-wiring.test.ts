import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../src/server.js';
import { tinyModelDir } from './helpers/models.js';
import { parseExposition, sampleValue } from './helpers/prometheus.js';

/** startServer with no metrics hooks given serves its own metrics: what `qwen3-serve serve` runs. */
describe('startServer: default metrics', () => {
  let server: ServerHandle;

  beforeAll(async () => {
    server = await startServer({ engine: { modelDir: tinyModelDir('int4'), maxSeqs: 2 }, port: 0, servedModelName: 'wired', logger: pino({ level: 'silent' }) });
    await server.ready;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('/metrics has the engine, HTTP and memory series of this server after a request', async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const completion = await client.completions.create({ model: 'wired', prompt: 'Hello', max_tokens: 5, temperature: 0 });
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const samples = parseExposition(await response.text());
    const model = { model_name: 'wired' };
    expect(sampleValue(samples, 'vllm:generation_tokens_total', { ...model, engine: '0' })).toBe(completion.usage!.completion_tokens);
    expect(sampleValue(samples, 'vllm:prompt_tokens_total', { ...model, engine: '0' })).toBe(completion.usage!.prompt_tokens);
    expect(sampleValue(samples, 'qwen3_serve_http_requests_total', { ...model, route: '/v1/completions', method: 'POST', status: '200' })).toBe(1);
    expect(sampleValue(samples, 'qwen3_serve_model_weight_bytes', model)).toBe(server.engine!.info.weightBytes);
    expect(sampleValue(samples, 'qwen3_serve_kv_cache_allocated_bytes', model)).toBe(server.engine!.info.kvReservedBytes);
    expect(sampleValue(samples, 'qwen3_serve_process_resident_memory_bytes', model)).toBeGreaterThan(server.engine!.info.weightBytes);
  });

  it('/metrics says which speed paths run: the CPU detected at start and the graph\'s KV outputs', async () => {
    const samples = parseExposition(await (await fetch(`${server.url}/metrics`)).text());
    const { cpu, threads } = server.engine!.info;
    expect(cpu.cores).toBeGreaterThan(0);
    // No --threads given: one onnxruntime thread per physical core, never onnxruntime's own guess.
    expect(threads).toBe(cpu.physicalCores);
    expect(cpu.physicalCores).toBeGreaterThan(0);
    expect(cpu.physicalCores).toBeLessThanOrEqual(cpu.cores);
    expect(['amx', 'avx512-vnni', 'avx512', 'avx2', 'baseline']).toContain(cpu.isa);
    const labels = {
      model_name: 'wired',
      device: 'cpu',
      cpu_model: cpu.model,
      isa: cpu.isa,
      simd_flags: cpu.simdFlags.join(' '),
      cores: String(cpu.cores),
      threads: String(threads),
      // One graph (no prefill graph): onnxruntime's own spinning.
      spinning: 'always',
      kv_outputs: 'new-positions',
      prefill_graph: 'none',
    };
    expect(sampleValue(samples, 'qwen3_serve_runtime_info', labels)).toBe(1);
  });

  it("counts prefix cache queries and hits in tokens: a prompt that extends an earlier one hits", async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const vllm = { model_name: 'wired', engine: '0' };
    const before = parseExposition(await (await fetch(`${server.url}/metrics`)).text());
    const queriesBefore = sampleValue(before, 'vllm:prefix_cache_queries_total', vllm);
    const hitsBefore = sampleValue(before, 'vllm:prefix_cache_hits_total', vllm);
    const prompt = Array.from({ length: 30 }, (_, i) => 2000 + i * 3);
    const first = await client.completions.create({ model: 'wired', prompt, max_tokens: 4, temperature: 0 });
    const second = await client.completions.create({ model: 'wired', prompt: [...prompt, 11, 12, 13], max_tokens: 4, temperature: 0 });
    const cached = second.usage!.prompt_tokens_details!.cached_tokens!;
    expect(first.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
    expect(cached).toBeGreaterThanOrEqual(30);
    const samples = parseExposition(await (await fetch(`${server.url}/metrics`)).text());
    expect(sampleValue(samples, 'vllm:prefix_cache_queries_total', vllm) - queriesBefore).toBe(30 + 33);
    expect(sampleValue(samples, 'vllm:prefix_cache_hits_total', vllm) - hitsBefore).toBe(cached);
  });
});
