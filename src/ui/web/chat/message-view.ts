import type { ChatMessage } from '../../conversation.js';
import { copyText, renderMarkdown } from '../render/markdown.js';
import type { TurnState } from './chat-session.js';

export interface MessageActions {
  edit(index: number): void;
  regenerate(): void;
}

/** User messages longer than this are shown folded (a pasted document, say). */
const FOLD_USER_CHARS = 1200;

/**
 * One message as an <article>: speaker, actions, the document it carried, Qwen3's reasoning in a
 * <details> block (open while the model is still thinking), the turn's indicator and the text.
 * Answers are rendered Markdown; the user's own text is shown as typed.
 */
export function messageElement(message: ChatMessage, index: number, options: { last: boolean; turn: TurnState | null; actions: MessageActions }): HTMLElement {
  const article = element('article', `message ${message.role}`);
  article.dataset.index = String(index);
  const header = element('header', 'message-header');
  header.append(element('span', 'speaker', message.role === 'user' ? 'You' : 'Assistant'));
  const actions = element('div', 'message-actions');
  if (!options.turn) {
    if (message.role === 'user') actions.append(button('Edit', 'Edit and resend this message', () => options.actions.edit(index)));
    if (message.role === 'assistant' && options.last) actions.append(button('Regenerate', 'Regenerate this answer', () => options.actions.regenerate()));
  }
  const copy = button('Copy', `Copy this ${message.role === 'user' ? 'message' : 'answer'}`, () => void copyText(message.content, copy));
  actions.append(copy);
  header.append(actions);
  article.append(header);

  if (message.document) {
    const { filename, chars, parts } = message.document;
    article.append(element('p', 'document-chip', `📄 ${filename} · ${chars.toLocaleString()} characters${parts > 1 ? ` · summarised in ${parts} parts` : ''}`));
  }
  if (message.reasoning || options.turn?.kind === 'thinking') {
    const details = element('details', 'reasoning');
    details.open = options.turn?.kind === 'thinking';
    details.append(element('summary', '', options.turn?.kind === 'thinking' ? 'Thinking…' : 'Reasoning'));
    const body = element('div', 'markdown');
    renderMarkdown(body, message.reasoning ?? '');
    details.append(body);
    article.append(details);
  }
  if (options.turn) article.append(indicator(options.turn));
  const content = element('div', message.role === 'user' ? 'user-text' : 'markdown answer');
  if (message.role === 'user') {
    if (message.content.length > FOLD_USER_CHARS) {
      const details = element('details', 'folded');
      details.append(element('summary', '', `${message.content.slice(0, 200)}…`), element('div', '', message.content));
      content.append(details);
    } else content.textContent = message.content;
  } else renderMarkdown(content, message.content);
  article.append(content);
  if (message.stopped) article.append(element('p', 'stopped-note', 'Stopped.'));
  return article;
}

function indicator(turn: TurnState): HTMLElement {
  const status = element('div', 'turn-indicator');
  status.setAttribute('role', 'status');
  if (turn.kind === 'summarising') {
    const { phase, done, total, round } = turn.progress;
    status.append(
      element('span', '', phase === 'map' ? `Summarising part ${Math.min(done + 1, total)} of ${total}…` : `Combining summaries (round ${round}): ${done} of ${total}…`),
    );
    const bar = document.createElement('progress');
    bar.max = total;
    bar.value = done;
    bar.setAttribute('aria-label', 'Document summary progress');
    status.append(bar);
  } else {
    status.classList.add('pulsing');
    status.textContent = turn.kind === 'waiting' ? 'Thinking…' : turn.kind === 'thinking' ? 'Reasoning…' : 'Writing…';
  }
  return status;
}

export function element<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function button(label: string, description: string, onClick: () => void): HTMLButtonElement {
  const node = element('button', 'small', label);
  node.type = 'button';
  node.setAttribute('aria-label', description);
  node.title = description;
  node.addEventListener('click', onClick);
  return node;
}
