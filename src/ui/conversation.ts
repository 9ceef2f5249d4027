import { z } from 'zod';

/**
 * What the chat page keeps of a conversation, shared by the server's store and the page's
 * code (so both read and write the same shape). Reasoning is kept apart from the answer:
 * it is shown folded and never sent back to the model with the history.
 */
export const ChatMessage = z.object({
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  reasoning: z.string().optional(),
  /** Set on an answer the user stopped before it was finished. */
  stopped: z.boolean().optional(),
  /** A user turn that carried a document: the content holds the prompt the model was given for it. */
  document: z
    .object({
      filename: z.string(),
      chars: z.int().min(0),
      /** 1: the whole text was in the prompt; more: it was summarised in that many parts first. */
      parts: z.int().min(1),
    })
    .optional(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/** The parameter panel; sent as the chat request's sampling fields. */
export const ChatParameters = z.object({
  temperature: z.number().min(0).max(2),
  top_p: z.number().gt(0).max(1),
  top_k: z.int().min(-1),
  max_tokens: z.int().min(1),
  /** null: a fresh random seed per request. */
  seed: z.int().nullable(),
  /** Qwen3's thinking switch (chat_template_kwargs.enable_thinking). */
  thinking: z.boolean(),
});
export type ChatParameters = z.infer<typeof ChatParameters>;

/** A stored conversation as the UI API answers it; times are Unix seconds. */
export interface Conversation {
  id: string;
  title: string;
  system_prompt: string;
  params: ChatParameters;
  messages: ChatMessage[];
  created_at: number;
  updated_at: number;
}

export type ConversationSummary = Pick<Conversation, 'id' | 'title' | 'updated_at'>;

/** A body that creates or changes a conversation: every field is optional (absent: unchanged, or the default). */
export const ConversationFields = z.object({
  title: z.string().trim().min(1).max(200).optional(),
  system_prompt: z.string().max(100_000).optional(),
  params: ChatParameters.optional(),
  messages: z.array(ChatMessage).optional(),
});
export type ConversationFields = z.infer<typeof ConversationFields>;

/** A prompt template: built-in ones have ids starting `builtin-` and cannot be deleted. */
export interface PromptTemplate {
  id: string;
  name: string;
  prompt: string;
  builtin: boolean;
}

export const TemplateFields = z.object({
  name: z.string().trim().min(1).max(200),
  prompt: z.string().min(1).max(100_000),
});
