import type { TemplateMessage } from '../../model/tokenizer/template-message.js';
import type { ChatTemplateOptions, RenderedChat } from '../../model/tokenizer/tokenizer.js';

/** Messages between the main thread's TokenizerPool and a tokenizer worker. */

export type TokenizerJob =
  | { id: number; op: 'encode'; text: string; addSpecialTokens?: boolean }
  | { id: number; op: 'chat'; messages: TemplateMessage[]; options: ChatTemplateOptions };

export type TokenizerReply =
  | { type: 'ready' }
  | { type: 'loadFailed'; message: string }
  | { id: number; type: 'encoded'; tokenIds: number[] }
  | { id: number; type: 'rendered'; rendered: RenderedChat }
  /** `chatTemplate`: the template refused the messages (a ChatTemplateError, the caller's input). */
  | { id: number; type: 'failed'; message: string; chatTemplate: boolean };
