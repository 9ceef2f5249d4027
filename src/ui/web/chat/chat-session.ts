import type { ChatMessage, ChatParameters, Conversation } from '../../conversation.js';
import { planDocumentSummary, type SummaryProgress } from '../../documents/map-reduce-summary.js';
import type { ApiClient } from '../api/api-client.js';
import { completeChat, streamChat } from '../api/chat-stream.js';
import { splitReasoning } from '../render/reasoning-split.js';
import { chatRequestBody, samplingFields } from './request-body.js';
import type { ServedModel } from './served-model.js';

/** What the page shows of the session; the session calls it whenever something changed. */
export interface SessionView {
  /** Everything may have changed (another conversation, a message added or removed). */
  render(): void;
  /** Only the last message changed (a streamed delta, progress). */
  renderLast(): void;
  /** The conversation was saved: its title or place in the list may have changed. */
  saved(conversation: Conversation): void;
  notice(message: string): void;
}

/** A document attached to the next message. */
export interface AttachedDocument {
  filename: string;
  text: string;
}

/** What the running turn is doing, for the last message's indicator. */
export type TurnState = { kind: 'waiting' } | { kind: 'thinking' } | { kind: 'answering' } | { kind: 'summarising'; progress: SummaryProgress };

const TITLE_LENGTH = 60;
const DEFAULT_DOCUMENT_INSTRUCTION = 'Summarise this document.';

/**
 * One conversation being shown and continued: its messages, system prompt and parameters, the
 * turn being generated (one at a time), and saving to the server after each change. Knows no
 * DOM; the view draws it.
 */
export class ChatSession {
  id: string | null = null;
  title = 'New chat';
  systemPrompt = '';
  messages: ChatMessage[] = [];
  turn: { controller: AbortController; state: TurnState } | null = null;
  /** The running turn, saving included: switching conversations waits for it, so its save lands on its own conversation. */
  private running: Promise<void> | null = null;

  constructor(
    private readonly api: ApiClient,
    private readonly model: () => Promise<ServedModel>,
    private readonly view: SessionView,
    public params: ChatParameters,
  ) {}

  async load(conversation: Conversation | null, params: ChatParameters): Promise<void> {
    this.stop();
    await this.running;
    this.id = conversation?.id ?? null;
    this.title = conversation?.title ?? 'New chat';
    this.systemPrompt = conversation?.system_prompt ?? '';
    this.messages = conversation ? [...conversation.messages] : [];
    this.params = conversation?.params ?? params;
    this.view.render();
  }

  /**
   * Sends a user message (replacing the messages from `editIndex` on, when editing an earlier
   * one) and streams the answer. With a document, its text goes into the prompt, summarised in
   * parts first when it is longer than the context allows.
   */
  async send(text: string, options: { editIndex?: number; document?: AttachedDocument } = {}): Promise<void> {
    if (this.turn) return;
    if (options.editIndex !== undefined) this.messages = this.messages.slice(0, options.editIndex);
    const user: ChatMessage = { role: 'user', content: text };
    this.messages.push(user);
    if (this.title === 'New chat') this.title = titleFrom(options.document?.filename ?? text);
    await this.run(options.document ? { user, document: options.document, instruction: text.trim() || DEFAULT_DOCUMENT_INSTRUCTION } : undefined);
  }

  /** Asks again for the last answer. */
  async regenerate(): Promise<void> {
    if (this.turn || this.messages.length === 0) return;
    if (this.messages.at(-1)!.role === 'assistant') this.messages.pop();
    await this.run();
  }

  /** Stops the running turn: its fetch is aborted, so the server frees the request's KV row. */
  stop(): void {
    this.turn?.controller.abort();
  }

  async saveSettings(changes: { systemPrompt?: string; params?: ChatParameters; title?: string }): Promise<void> {
    this.systemPrompt = changes.systemPrompt ?? this.systemPrompt;
    this.params = changes.params ?? this.params;
    this.title = changes.title ?? this.title;
    if (this.id) await this.save();
  }

  async save(): Promise<void> {
    const fields = { title: this.title, system_prompt: this.systemPrompt, params: this.params, messages: this.messages };
    const saved = this.id
      ? await this.api.send<Conversation>('PUT', `/ui/api/conversations/${this.id}`, fields)
      : await this.api.send<Conversation>('POST', '/ui/api/conversations', fields);
    this.id = saved.id;
    this.view.saved(saved);
  }

  private async run(withDocument?: { user: ChatMessage; document: AttachedDocument; instruction: string }): Promise<void> {
    this.running = this.answer(withDocument);
    try {
      await this.running;
    } finally {
      this.running = null;
    }
  }

  private async answer(withDocument?: { user: ChatMessage; document: AttachedDocument; instruction: string }): Promise<void> {
    const controller = new AbortController();
    this.turn = { controller, state: { kind: 'waiting' } };
    const reply: ChatMessage = { role: 'assistant', content: '', reasoning: '' };
    this.messages.push(reply);
    this.view.render();
    try {
      await this.save();
      const model = await this.model();
      if (withDocument) await this.prepareDocument(withDocument, model, controller.signal);
      const history = this.messages.slice(0, -1);
      let raw = '';
      let separateReasoning = '';
      const end = await streamChat(this.api, chatRequestBody(model.id, this.systemPrompt, history, this.params), controller.signal, (delta) => {
        raw += delta.content;
        separateReasoning += delta.reasoning;
        const split = splitReasoning(raw);
        reply.reasoning = separateReasoning + split.reasoning;
        reply.content = split.answer;
        const thinking = split.thinking || (separateReasoning !== '' && raw === '');
        this.turn!.state = { kind: thinking ? 'thinking' : 'answering' };
        this.view.renderLast();
      });
      if (end.finishReason === 'length') this.view.notice('The answer reached max_tokens; raise it in Settings for longer answers.');
    } catch (err) {
      if (controller.signal.aborted) reply.stopped = true;
      else this.view.notice(`The request failed: ${(err as Error).message}`);
    } finally {
      if (!reply.reasoning) delete reply.reasoning;
      this.turn = null;
      // A failed turn that produced nothing leaves no empty answer behind.
      if (!reply.content && !reply.reasoning && !reply.stopped) this.messages.pop();
      this.view.render();
    }
    await this.save().catch((err: Error) => this.view.notice(`Could not save the conversation: ${err.message}`));
  }

  /** Puts the document into the user message: whole when it fits, else its part summaries (map-reduce, with progress). */
  private async prepareDocument(turn: { user: ChatMessage; document: AttachedDocument; instruction: string }, model: ServedModel, signal: AbortSignal): Promise<void> {
    const { user, document, instruction } = turn;
    const history = this.messages.slice(0, -2);
    const reservedChars = this.systemPrompt.length + history.reduce((sum, message) => sum + message.content.length, 0);
    const plan = await planDocumentSummary(document.filename, document.text, {
      contextTokens: model.maxModelLen,
      answerTokens: this.params.max_tokens,
      instruction,
      reservedChars,
      complete: (prompt, maxTokens) =>
        completeChat(this.api, { model: model.id, messages: [{ role: 'user', content: prompt }], ...samplingFields({ ...this.params, max_tokens: maxTokens, thinking: false }) }, signal),
      onProgress: (progress) => {
        this.turn!.state = { kind: 'summarising', progress };
        this.view.renderLast();
      },
    });
    user.content = plan.finalPrompt;
    user.document = { filename: document.filename, chars: document.text.length, parts: plan.parts };
    this.turn!.state = { kind: 'waiting' };
    this.view.render();
  }
}

function titleFrom(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return (line.length > TITLE_LENGTH ? `${line.slice(0, TITLE_LENGTH - 1)}…` : line) || 'New chat';
}
