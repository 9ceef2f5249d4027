import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMultiTurnChat, turnMessages } from '../loadtest/multi-turn-chat.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** The chat of loadtest/multi-turn.ts, short, against a real server on the tiny model. */
describe('the multi-turn chat benchmark on the tiny model', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.handle.close();
  });

  it('every turn after the first finds the history before it in the prefix cache', async () => {
    const { turns, messages } = await runMultiTurnChat(server.openai(), { model: 'int4', turns: 3, documentChars: 200, answerTokens: 4, seed: 1 });
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
    expect(turnMessages(messages, 2).at(-1)?.content).toMatch(/^Document 2:/);
    expect(turns.map((t) => t.turn)).toEqual([1, 2, 3]);
    expect(turns[0].cachedTokens).toBe(0);
    for (const [i, turn] of turns.entries()) {
      expect(turn.ttftMs).toBeGreaterThan(0);
      expect(turn.totalMs).toBeGreaterThanOrEqual(turn.ttftMs);
      if (i === 0) continue;
      const previous = turns[i - 1];
      expect(turn.promptTokens).toBeGreaterThan(previous.promptTokens);
      // The earlier prompt up to its answer is reused. What differs: its generation prompt's
      // empty thinking block (4 tokens), which the template leaves out of earlier turns, and the
      // newline before the answer, which may merge with the answer's first characters when the
      // history is tokenized again.
      expect(turn.cachedTokens).toBeGreaterThanOrEqual(previous.promptTokens - 6);
      expect(turn.cachedTokens).toBeLessThan(turn.promptTokens);
    }
  });
});
