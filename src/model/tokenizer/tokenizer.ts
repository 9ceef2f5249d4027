import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { byteLevelEntryToBytes } from './byte-level.js';
import { ChatTemplateError } from './chat-template-error.js';
import type { TemplateMessage } from './template-message.js';

/** What `tokenizer.json` says about itself, read once at load time. */
export interface TokenizerFileFacts {
  /** Ids of `added_tokens` (special or not), with their literal content. */
  addedTokens: ReadonlyMap<number, string>;
  /** Whether vocabulary entries are written in GPT-2's byte-level alphabet (Qwen's are). */
  byteLevel: boolean;
}

export interface ChatTemplateOptions {
  /** End with the assistant turn's header so the model answers. Default true. */
  addGenerationPrompt?: boolean;
  /**
   * Qwen3's switch: `false` pre-fills an empty `<think></think>` block so the model answers
   * without reasoning; left out, the template's default (thinking on) applies.
   */
  enableThinking?: boolean;
  /** Function definitions (tool schemas), for templates that render them. */
  tools?: readonly unknown[];
}

export interface RenderedChat {
  /** The prompt exactly as the template wrote it, special tokens as text. */
  text: string;
  tokenIds: number[];
}

const EMPTY_BYTES = new Uint8Array(0);

/**
 * A model's tokenizer and chat template: Hugging Face's `PreTrainedTokenizer` from
 * @huggingface/transformers, behind the few operations the server needs, named our way.
 */
export class Tokenizer {
  /** `<|im_end|>` for Qwen3: the end of an assistant turn; null if the config names none. */
  readonly eosTokenId: number | null;
  readonly padTokenId: number | null;
  /** Qwen3 has no BOS token (`bos_token: null`); kept for other models. */
  readonly bosTokenId: number | null;
  /** Ids of tokens marked special, which `skipSpecialTokens` drops when decoding. */
  readonly specialTokenIds: ReadonlySet<number>;
  /** Entries the tokenizer knows (151669 for Qwen3); the model's logits may be wider (151936). */
  readonly vocabSize: number;
  readonly hasChatTemplate: boolean;

  /**
   * Its `_tokenizer` (typed, public despite the underscore) is the @huggingface/tokenizers
   * Tokenizer underneath, whose token_to_id / id_to_token are direct lookups.
   */
  private readonly hf: PreTrainedTokenizer;
  private readonly facts: TokenizerFileFacts;
  private readonly textCache = new Map<number, string>();
  private readonly bytesCache = new Map<number, Uint8Array>();

  constructor(hf: PreTrainedTokenizer, facts: TokenizerFileFacts) {
    this.hf = hf;
    this.facts = facts;
    this.eosTokenId = hf.eos_token_id ?? null;
    this.padTokenId = hf.pad_token_id ?? null;
    this.bosTokenId = hf.bos_token_id ?? null;
    this.specialTokenIds = new Set(hf.all_special_ids);
    // get_vocab() builds a fresh Map of the whole vocabulary on every call: only once, here.
    this.vocabSize = hf.get_vocab().size;
    // A string, or (in some Hugging Face exports) a list of named templates.
    this.hasChatTemplate = hf.chat_template !== null && hf.chat_template !== undefined;
  }

  /** The id of a token written out (`<|im_start|>`, `<think>`), if the vocabulary has it. */
  tokenId(token: string): number | undefined {
    return this.hf._tokenizer.token_to_id(token);
  }

  /**
   * Every vocabulary entry by id, as `tokenizer.json` spells it (Qwen: GPT-2's byte-level
   * alphabet; added tokens as their literal text), for engines that match tokens against text
   * themselves (grammar masks). Ids without an entry are ''.
   */
  vocabularyEntries(): string[] {
    const entries: string[] = [];
    for (let id = 0; id < this.vocabSize; id++) entries.push(this.facts.addedTokens.get(id) ?? this.hf._tokenizer.id_to_token(id) ?? '');
    return entries;
  }

  /** Whether vocabulary entries are written in GPT-2's byte-level alphabet. */
  get byteLevel(): boolean {
    return this.facts.byteLevel;
  }

  /**
   * Text to ids. Special tokens written in the text (`<|im_start|>`) become their ids, as in
   * Hugging Face. `addSpecialTokens` adds what the post-processor adds (nothing for Qwen3).
   */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    return this.hf.encode(text, { add_special_tokens: options.addSpecialTokens ?? true });
  }

  /**
   * Ids to text. Bytes that do not form whole UTF-8 characters become U+FFFD; ids the tokenizer
   * does not know (the padding rows of a wider logits vocabulary) decode to nothing.
   */
  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.hf.decode(ids as number[], { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  /**
   * One token's own text, as logprobs' `token` shows it: a token holding part of a multi-byte
   * character shows U+FFFD here, and its exact bytes come from `tokenBytes`.
   */
  tokenText(id: number): string {
    let text = this.textCache.get(id);
    if (text === undefined) {
      text = this.decode([id]);
      this.textCache.set(id, text);
    }
    return text;
  }

  /** The exact bytes a token contributes to the output (OpenAI logprobs' `bytes`). */
  tokenBytes(id: number): Uint8Array {
    let bytes = this.bytesCache.get(id);
    if (bytes === undefined) {
      bytes = this.computeTokenBytes(id);
      this.bytesCache.set(id, bytes);
    }
    return bytes;
  }

  private computeTokenBytes(id: number): Uint8Array {
    const added = this.facts.addedTokens.get(id);
    if (added !== undefined) return new TextEncoder().encode(added);
    const entry = this.hf._tokenizer.id_to_token(id);
    if (entry === undefined) return EMPTY_BYTES;
    if (this.facts.byteLevel) {
      const bytes = byteLevelEntryToBytes(entry);
      if (bytes !== null) return bytes;
    }
    // Not a byte-level vocabulary (e.g. SentencePiece): the decoded text is the best we know.
    return new TextEncoder().encode(this.tokenText(id));
  }

  /**
   * Renders a conversation with the model's own chat template (Jinja, as in Hugging Face) and
   * encodes it. The rendered text already holds every special token, so encoding adds none.
   * Throws ChatTemplateError when the model has no template or the template refuses the messages.
   */
  applyChatTemplate(messages: readonly TemplateMessage[], options: ChatTemplateOptions = {}): RenderedChat {
    if (!this.hasChatTemplate) throw new ChatTemplateError('this model has no chat template');
    // Template variables beyond transformers' typed options (enable_thinking) reach the Jinja
    // context through apply_chat_template's rest parameter.
    const templateOptions: Parameters<PreTrainedTokenizer['apply_chat_template']>[1] & Record<string, unknown> = {
      tokenize: false,
      add_generation_prompt: options.addGenerationPrompt ?? true,
    };
    if (options.enableThinking !== undefined) templateOptions.enable_thinking = options.enableThinking;
    if (options.tools !== undefined && options.tools.length > 0) templateOptions.tools = [...options.tools];
    let text: string;
    try {
      text = this.hf.apply_chat_template([...messages], templateOptions) as unknown as string;
    } catch (error) {
      // Templates reject conversations they cannot express (raise_exception); that is the caller's input.
      throw new ChatTemplateError(`the chat template rejected the messages: ${(error as Error).message}`, { cause: error });
    }
    return { text, tokenIds: this.encode(text, { addSpecialTokens: false }) };
  }
}
