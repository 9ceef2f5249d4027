/**
 * Incremental detokenization: turns a request's tokens, one at a time, into text pieces that are
 * always whole characters, at a cost that does not grow with the length of the output.
 *
 * A token is not a unit of text: Qwen's byte-level tokens may hold a fragment of a UTF-8
 * character (an emoji is often two or three tokens), and some tokenizers' text for a token depends
 * on its neighbours. So text is found by decoding a short window of recent tokens and comparing it
 * with the window's already-emitted part (the prefix/read offset technique of vLLM and TGI):
 *
 *   tokens:  ... | prefix ........ | read ......... |
 *                  already emitted   not yet emitted
 *
 * The unemitted part is released once the window's text has grown and does not end in U+FFFD,
 * the decoder's mark for bytes that are not (yet) a whole character. Then the window slides so
 * that the tokens just emitted become the new prefix, which gives the next decode its context.
 */

/** The part of a tokenizer the detokenizer needs (`Tokenizer` from src/model/tokenizer fits). */
export interface TokenTextDecoder {
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
}

export interface DetokenizerOptions {
  /** Leave out special tokens (`<|im_end|>`) from the text, as OpenAI servers do. Default true. */
  skipSpecialTokens?: boolean;
  /**
   * The last few prompt tokens, giving the first generated tokens their left context (it matters
   * for tokenizers whose decoding strips or adds spaces at the start). Never emitted.
   */
  contextTokenIds?: readonly number[];
}

const REPLACEMENT_CHARACTER = '\uFFFD';

/** How many prompt tokens of context to keep, as vLLM does. */
export const DETOKENIZER_CONTEXT_TOKENS = 5;

export class IncrementalDetokenizer {
  private readonly decoder: TokenTextDecoder;
  private readonly decodeOptions: { skipSpecialTokens: boolean };
  /** Tokens from the prefix offset on; `window.slice(0, readIndex)` is already emitted (or context). */
  private window: number[];
  private readIndex: number;
  /** `decode(window.slice(0, readIndex))`, kept so each token costs one decode, not two. */
  private prefixText: string;

  constructor(decoder: TokenTextDecoder, options: DetokenizerOptions = {}) {
    this.decoder = decoder;
    this.decodeOptions = { skipSpecialTokens: options.skipSpecialTokens ?? true };
    const context = (options.contextTokenIds ?? []).slice(-DETOKENIZER_CONTEXT_TOKENS);
    const contextText = decoder.decode(context, this.decodeOptions);
    // A context ending in an unfinished character would be completed (and so changed) by the
    // first generated tokens, breaking the prefix comparison; without context they decode alone.
    const usable = !contextText.endsWith(REPLACEMENT_CHARACTER);
    this.window = usable ? [...context] : [];
    this.readIndex = this.window.length;
    this.prefixText = usable ? contextText : '';
  }

  /** Tokens not yet turned into text: they end in an unfinished character or a skipped token. */
  get heldTokenCount(): number {
    return this.window.length - this.readIndex;
  }

  /** Adds the next generated token; returns the text it completes, often '' while a character is unfinished. */
  push(tokenId: number): string {
    this.window.push(tokenId);
    const text = this.decoder.decode(this.window, this.decodeOptions);
    if (text.length <= this.prefixText.length || text.endsWith(REPLACEMENT_CHARACTER)) return '';
    const piece = text.slice(this.prefixText.length);
    this.window = this.window.slice(this.readIndex);
    this.readIndex = this.window.length;
    this.prefixText = this.decoder.decode(this.window, this.decodeOptions);
    return piece;
  }

  /**
   * Releases what is still held when generation ends. Bytes that never became a character come
   * out as U+FFFD here: the output truly ends in invalid UTF-8.
   */
  flush(): string {
    const text = this.decoder.decode(this.window, this.decodeOptions);
    const piece = text.length > this.prefixText.length ? text.slice(this.prefixText.length) : '';
    this.window = [];
    this.readIndex = 0;
    this.prefixText = '';
    return piece;
  }
}
