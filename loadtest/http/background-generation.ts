import { syntheticTokenIds } from '../bench/synthetic-tokens.js';
import { StreamingClient } from '../serve/streaming-client.js';

/** Streams kept running while something else is measured. */
export interface BackgroundGeneration {
  /** Stops sending new requests and waits for those in flight; resolves with what they did. */
  stop(): Promise<{ completed: number; failed: number; outputTokens: number }>;
}

/**
 * `streams` clients, each sending streamed completions back to back until stopped, so the engine
 * generates the whole time (the load the cheap-request scenario measures responsiveness under).
 * Each client's requests differ (own prompt stream), so nothing is shared between them.
 */
export async function startBackgroundGeneration(url: string, options: { streams: number; promptTokens: number; maxTokens: number }): Promise<BackgroundGeneration> {
  const client = await StreamingClient.connect(url);
  let running = true;
  const totals = { completed: 0, failed: 0, outputTokens: 0 };
  const loops = Array.from({ length: options.streams }, async (_, stream) => {
    for (let i = 0; running; i++) {
      const result = await client.send({ promptTokenIds: syntheticTokenIds(options.promptTokens, 300 + stream * 1000 + i), outputTokens: options.maxTokens });
      if (result.ok) totals.completed++;
      else totals.failed++;
      totals.outputTokens += result.outputTokens;
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return totals;
    },
  };
}
