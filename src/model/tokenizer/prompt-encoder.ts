import type { TemplateMessage } from './template-message.js';
import type { ChatTemplateOptions, RenderedChat, Tokenizer } from './tokenizer.js';

/**
 * What turns a request's text into prompt tokens: encoding and chat templating, asynchronous so
 * that the work may run on another thread (a 3.6 MB prompt takes seconds to tokenize, and the
 * HTTP thread must never stall that long). Same results as the Tokenizer's own methods.
 */
export interface PromptEncoder {
  readonly hasChatTemplate: boolean;
  encode(text: string, options?: { addSpecialTokens?: boolean }): Promise<number[]>;
  /** Throws ChatTemplateError, as Tokenizer.applyChatTemplate does. */
  applyChatTemplate(messages: readonly TemplateMessage[], options?: ChatTemplateOptions): Promise<RenderedChat>;
  close(): Promise<void>;
}

/** A PromptEncoder on the calling thread: for small inputs, tests and offline tools. */
export class InlinePromptEncoder implements PromptEncoder {
  constructor(private readonly tokenizer: Tokenizer) {}

  get hasChatTemplate(): boolean {
    return this.tokenizer.hasChatTemplate;
  }

  async encode(text: string, options: { addSpecialTokens?: boolean } = {}): Promise<number[]> {
    return this.tokenizer.encode(text, options);
  }

  async applyChatTemplate(messages: readonly TemplateMessage[], options: ChatTemplateOptions = {}): Promise<RenderedChat> {
    return this.tokenizer.applyChatTemplate(messages, options);
  }

  async close(): Promise<void> {}
}
