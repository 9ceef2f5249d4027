import type { GeneratedTokenLogprobs } from '../../engine/generation.js';
import type { Tokenizer } from '../../model/tokenizer/tokenizer.js';
import type { ChatLogprobs } from '../schemas/chat.js';
import type { CompletionLogprobs } from '../schemas/completions.js';

/**
 * The engine reports log-probabilities by token id; clients get them in OpenAI's two shapes, with
 * each token's text (and for chat its exact UTF-8 bytes, which matter where a token holds part of
 * a character and its text shows U+FFFD).
 */

/** JSON has no -Infinity; vLLM reports impossible tokens at this floor too. */
const LOGPROB_FLOOR = -9999;

const finite = (logprob: number) => (logprob > LOGPROB_FLOOR ? logprob : LOGPROB_FLOOR);

type ChatTokenLogprob = NonNullable<ChatLogprobs['content']>[number];

/** Chat's `logprobs.content` entries for the tokens of one delta. */
export function chatLogprobContent(tokenizer: Tokenizer, entries: readonly GeneratedTokenLogprobs[]): ChatTokenLogprob[] {
  const describe = (tokenId: number, logprob: number) => ({
    token: tokenizer.tokenText(tokenId),
    logprob: finite(logprob),
    bytes: Array.from(tokenizer.tokenBytes(tokenId)),
  });
  return entries.map((entry) => ({
    ...describe(entry.tokenId, entry.logprob),
    top_logprobs: entry.top.map((alt) => describe(alt.tokenId, alt.logprob)),
  }));
}

/**
 * Completions' logprobs for one choice, built a delta at a time: `text_offset` is each token's
 * character offset in the choice's text, counted across deltas (and so across stream chunks).
 */
export class CompletionLogprobsBuilder {
  private offset = 0;

  constructor(private readonly tokenizer: Tokenizer) {}

  add(entries: readonly GeneratedTokenLogprobs[]): CompletionLogprobs {
    const result: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
    for (const entry of entries) {
      const text = this.tokenizer.tokenText(entry.tokenId);
      result.tokens.push(text);
      result.token_logprobs.push(finite(entry.logprob));
      // OpenAI: "the API will always return the logprob of the sampled token", so up to n + 1 entries.
      const top: Record<string, number> = {};
      for (const alt of entry.top) top[this.tokenizer.tokenText(alt.tokenId)] ??= finite(alt.logprob);
      top[text] ??= finite(entry.logprob);
      result.top_logprobs.push(top);
      result.text_offset.push(this.offset);
      this.offset += text.length;
    }
    return result;
  }
}
