import { invalidParam } from '../../errors.js';
import { ChatTemplateError } from '../../model/tokenizer/chat-template-error.js';
import type { PromptEncoder } from '../../model/tokenizer/prompt-encoder.js';
import type { ChatTemplateOptions, RenderedChat } from '../../model/tokenizer/tokenizer.js';
import { normaliseChatMessages, type ChatMessageInput } from './chat-messages.js';

/**
 * A request's `messages` rendered with the model's chat template and encoded: the one way the
 * routes turn a conversation into a prompt. Every failure is a 400 naming the request field, so
 * the tokenizer below needs to know nothing of requests.
 */
export async function renderChat(prompts: PromptEncoder, messages: readonly ChatMessageInput[], options: ChatTemplateOptions = {}): Promise<RenderedChat> {
  // Checked before the messages: without a template no conversation can be rendered, whatever it holds.
  if (!prompts.hasChatTemplate) {
    throw invalidParam('messages', 'this model has no chat template; use the completions endpoint', 'chat_template_missing');
  }
  const conversation = normaliseChatMessages(messages);
  try {
    return await prompts.applyChatTemplate(conversation, options);
  } catch (error) {
    if (error instanceof ChatTemplateError) throw invalidParam('messages', error.message);
    throw error;
  }
}
