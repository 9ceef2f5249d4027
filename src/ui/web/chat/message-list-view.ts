import type { ChatSession } from './chat-session.js';
import { element, messageElement, type MessageActions } from './message-view.js';

/** How close to the bottom (px) still counts as "following" the stream. */
const FOLLOW_SLACK = 80;

/**
 * The conversation's messages in the log element. A streamed delta redraws only the last
 * message, at most once per animation frame; the view follows the stream while the reader is at
 * the bottom and stays put when they scrolled up.
 */
export class MessageListView {
  private frame = 0;

  constructor(
    private readonly log: HTMLElement,
    private readonly session: ChatSession,
    private readonly actions: MessageActions,
  ) {}

  render(): void {
    const follow = this.atBottom();
    const { messages, turn } = this.session;
    this.log.replaceChildren(
      ...(messages.length === 0 ? [element('p', 'empty-state', 'Ask anything, attach a document, or pick a template below.')] : []),
      ...messages.map((message, i) => messageElement(message, i, { last: i === messages.length - 1, turn: i === messages.length - 1 ? (turn?.state ?? null) : null, actions: this.actions })),
    );
    if (follow) this.scrollToBottom();
  }

  renderLast(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const { messages, turn } = this.session;
      const last = this.log.lastElementChild;
      if (!last || messages.length === 0) return this.render();
      const follow = this.atBottom();
      const index = messages.length - 1;
      const fresh = messageElement(messages[index], index, { last: true, turn: turn?.state ?? null, actions: this.actions });
      // The reader's choice to open or fold the reasoning survives redraws.
      const before = last.querySelector('details.reasoning') as HTMLDetailsElement | null;
      const after = fresh.querySelector('details.reasoning') as HTMLDetailsElement | null;
      if (before && after && before.dataset.touched) {
        after.open = before.open;
        after.dataset.touched = '1';
      }
      // A click on the summary is the reader's; `toggle` would also fire for the page's own changes.
      after?.querySelector('summary')?.addEventListener('click', () => (after.dataset.touched = '1'));
      last.replaceWith(fresh);
      if (follow) this.scrollToBottom();
    });
  }

  private atBottom(): boolean {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < FOLLOW_SLACK;
  }

  private scrollToBottom(): void {
    this.log.scrollTop = this.log.scrollHeight;
  }
}
