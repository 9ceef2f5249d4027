import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenizerPool } from '../src/engine/worker/tokenizer-pool.js';
import { loadTokenizer } from '../src/model/tokenizer/load-tokenizer.js';
import type { Tokenizer } from '../src/model/tokenizer/tokenizer.js';
import { generateContract } from '../loadtest/serve/contract-text.js';
import { tinyModelDir } from './helpers/models.js';

/**
 * The tokenizer threads: the same tokens and chat renderings as the main thread's tokenizer, and
 * a main thread that keeps running while a long prompt is tokenized (it did not, inline).
 */
describe('TokenizerPool', () => {
  const modelDir = tinyModelDir('int4');
  let tokenizer: Tokenizer;
  let pool: TokenizerPool;
  /** About 400 KB of contract text: tenths of a second to tokenize. */
  let longText: string;

  beforeAll(async () => {
    tokenizer = await loadTokenizer(modelDir);
    pool = await TokenizerPool.start(modelDir, tokenizer, 2);
    longText = generateContract(5, 400_000);
  });
  afterAll(async () => {
    await pool?.close();
  });

  it('encodes and renders exactly as the main thread does, short inputs and long', async () => {
    for (const text of ['Hello, world', longText]) {
      expect(await pool.encode(text)).toEqual(tokenizer.encode(text));
      expect(await pool.encode(text, { addSpecialTokens: false })).toEqual(tokenizer.encode(text, { addSpecialTokens: false }));
      const messages = [
        { role: 'system' as const, content: 'Be brief.' },
        { role: 'user' as const, content: text },
      ];
      expect(await pool.applyChatTemplate(messages, { enableThinking: false })).toEqual(tokenizer.applyChatTemplate(messages, { enableThinking: false }));
    }
    // Jobs spread over both threads at once come back to their callers.
    const texts = [1, 2, 3, 4].map((i) => `${i} ${longText.slice(i * 1000, i * 1000 + 20_000)}`);
    const results = await Promise.all(texts.map((text) => pool.encode(text)));
    results.forEach((ids, i) => expect(ids).toEqual(tokenizer.encode(texts[i])));
  });

  it('leaves the calling thread free while a long prompt is tokenized; inline, it would block', async () => {
    const longestGap = async (work: () => Promise<unknown>) => {
      let last = performance.now();
      let gap = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        gap = Math.max(gap, now - last);
        last = now;
      }, 1);
      await work();
      // One more tick after the work: a blocked loop shows its gap when the timer next runs.
      await new Promise((resolve) => setTimeout(resolve, 10));
      clearInterval(timer);
      return gap;
    };
    const inline = await TokenizerPool.start(modelDir, tokenizer, 0);
    const blocked = await longestGap(() => inline.encode(longText));
    const free = await longestGap(() => pool.encode(longText));
    expect(blocked).toBeGreaterThan(100);
    expect(free).toBeLessThan(50);
  });
});
