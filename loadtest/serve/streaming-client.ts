import OpenAI, { APIError } from 'openai';
import type { CompletionCreateParamsStreaming } from 'openai/resources/completions';
import { Agent } from 'undici';
import type { BenchPrompt } from './datasets.js';
import type { RequestResult } from './serving-metrics.js';

/** Longest any one benchmark request may take: a 4k-token prompt prefills for minutes on 2 cores. */
const REQUEST_TIMEOUT_MS = 30 * 60 * 1000;

/**
 * The benchmark's client: the official OpenAI SDK streaming /v1/completions with the prompt as
 * token ids (so its length is exact) and vLLM's ignore_eos (so the output is exactly max_tokens
 * long), greedy, with the usage chunk giving the server's own token counts. No retries: a 429 is
 * a result, not something to hide.
 */
export class StreamingClient {
  private readonly client: OpenAI;

  private constructor(
    client: OpenAI,
    readonly model: string,
  ) {
    this.client = client;
  }

  /** A client for the server at `baseUrl` (http://host:port), asking it for its model's name. */
  static async connect(baseUrl: string): Promise<StreamingClient> {
    // Node's fetch gives up on a response whose next body chunk takes 5 minutes (undici's
    // bodyTimeout), and a queued stream's first token can take longer than that at high
    // concurrency: the connection limits are the benchmark's own.
    const dispatcher = new Agent({ headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS });
    const client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: 'unused', maxRetries: 0, timeout: REQUEST_TIMEOUT_MS, fetchOptions: { dispatcher } });
    const models = await client.models.list();
    const model = models.data[0]?.id;
    if (!model) throw new Error(`${baseUrl} serves no model`);
    return new StreamingClient(client, model);
  }

  /**
   * Sends one prompt and reads its stream to the end, timing every text chunk. `abortAfterChunks`
   * closes the connection after that many text chunks (the disconnect scenario); the result is
   * then not ok, with error 'aborted by the client'.
   */
  async send(prompt: BenchPrompt, options: { abortAfterChunks?: number } = {}): Promise<RequestResult> {
    const controller = new AbortController();
    const startMs = performance.now();
    const result: RequestResult = { ok: false, promptTokens: prompt.promptTokenIds.length, outputTokens: 0, startMs, ttftMs: 0, itlMs: [], e2eMs: 0 };
    let lastChunkMs = 0;
    let chunks = 0;
    try {
      const params = {
        model: this.model,
        prompt: prompt.promptTokenIds,
        max_tokens: prompt.outputTokens,
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
        // vLLM's extra, sent as is by the SDK: generate exactly max_tokens.
        ignore_eos: true,
      } as CompletionCreateParamsStreaming;
      const stream = await this.client.completions.create(params, { signal: controller.signal });
      for await (const chunk of stream) {
        const now = performance.now();
        if (chunk.usage) {
          result.promptTokens = chunk.usage.prompt_tokens;
          result.outputTokens = chunk.usage.completion_tokens;
        }
        if (!chunk.choices.some((choice) => choice.text.length > 0)) continue;
        if (chunks === 0) result.ttftMs = now - startMs;
        else result.itlMs.push(now - lastChunkMs);
        lastChunkMs = now;
        chunks++;
        if (options.abortAfterChunks !== undefined && chunks >= options.abortAfterChunks) {
          controller.abort();
          result.error = 'aborted by the client';
          break;
        }
      }
      // vLLM's latency: send -> the last text chunk (the usage chunk and [DONE] follow at once).
      result.e2eMs = (chunks > 0 ? lastChunkMs : performance.now()) - startMs;
      if (result.error === undefined) {
        if (result.outputTokens !== prompt.outputTokens) throw new Error(`generated ${result.outputTokens} tokens, not ${prompt.outputTokens}`);
        result.ok = true;
      }
    } catch (err) {
      result.e2eMs = performance.now() - startMs;
      if (err instanceof APIError && err.status !== undefined) result.status = err.status;
      result.error = (err as Error).message;
    }
    return result;
  }
}
