import type { Conversation } from '../conversation.js';
import { DEFAULT_PARAMETERS } from '../default-parameters.js';
import { ApiClient } from './api/api-client.js';
import { ChatSession } from './chat/chat-session.js';
import { MessageListView } from './chat/message-list-view.js';
import { servedModelLoader } from './chat/served-model.js';
import { ConversationList } from './views/conversation-list.js';
import { DocumentAttachment } from './views/document-attachment.js';
import { keyDialog } from './views/key-dialog.js';
import { SettingsPanel } from './views/settings-panel.js';
import { StatusPanel } from './views/status-panel.js';
import { TemplatesMenu } from './views/templates-menu.js';
import { setUpTheme } from './views/theme.js';

/** The page's entry point: finds its elements, wires the parts together, opens the conversation in the URL's hash. */

const byId = <T extends HTMLElement>(id: string) => {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
};

const prompt = byId<HTMLTextAreaElement>('prompt');
const sendButton = byId<HTMLButtonElement>('send');
const stopButton = byId<HTMLButtonElement>('stop');
const noticeBox = byId('notice');
const editingNote = byId('editing-note');
let editIndex: number | undefined;
let noticeTimer = 0;

function notice(message: string): void {
  noticeBox.textContent = message;
  noticeBox.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = window.setTimeout(() => (noticeBox.hidden = true), 10_000);
}

const api = new ApiClient(keyDialog(byId<HTMLDialogElement>('key-dialog')));
const settings = new SettingsPanel(byId<HTMLFormElement>('settings'), (changes) => void session.saveSettings(changes).catch((err: Error) => notice(err.message)));
const conversations = new ConversationList(byId('conversation-list'), api, (id) => void open(id));
const session: ChatSession = new ChatSession(
  api,
  servedModelLoader(api),
  {
    render: () => {
      messages.render();
      drawChrome();
    },
    renderLast: () => messages.renderLast(),
    saved: (conversation) => {
      conversations.select(conversation.id);
      if (location.hash !== `#${conversation.id}`) history.replaceState(null, '', `#${conversation.id}`);
      byId('chat-title').textContent = conversation.title;
      void conversations.refresh().catch(() => {});
    },
    notice,
  },
  SettingsPanel.remembered(DEFAULT_PARAMETERS),
);
const messages = new MessageListView(byId('messages'), session, {
  edit: (index) => {
    editIndex = index;
    prompt.value = session.messages[index].content;
    editingNote.hidden = false;
    prompt.focus();
  },
  regenerate: () => void session.regenerate(),
});
const attachment = new DocumentAttachment(byId<HTMLInputElement>('document-input'), byId('attachment'), api, notice);
const templates = new TemplatesMenu(byId<HTMLSelectElement>('template-select'), byId<HTMLButtonElement>('delete-template'), prompt, api);

/** The parts outside the message list that follow the session: title, buttons, settings. */
function drawChrome(): void {
  const running = session.turn !== null;
  byId('chat-title').textContent = session.title;
  sendButton.disabled = running;
  stopButton.hidden = !running;
  for (const id of ['rename', 'export-md', 'export-json', 'delete-chat']) byId<HTMLButtonElement>(id).disabled = session.id === null;
  settings.show(session.systemPrompt, session.params);
}

async function open(id: string | null): Promise<void> {
  cancelEdit();
  noticeBox.hidden = true;
  const conversation = id ? await api.json<Conversation>(`/ui/api/conversations/${encodeURIComponent(id)}`).catch(() => null) : null;
  await session.load(conversation, SettingsPanel.remembered(DEFAULT_PARAMETERS));
  conversations.select(conversation?.id ?? null);
  void conversations.refresh().catch(() => {});
  history.replaceState(null, '', conversation ? `#${conversation.id}` : location.pathname);
  document.body.classList.remove('sidebar-open');
  byId('menu-toggle').setAttribute('aria-expanded', 'false');
  prompt.focus();
}

function cancelEdit(): void {
  editIndex = undefined;
  editingNote.hidden = true;
}

function submit(): void {
  const text = prompt.value;
  const document = attachment.document ?? undefined;
  if (session.turn || (!text.trim() && !document)) return;
  const options = { editIndex, document };
  prompt.value = '';
  attachment.clear();
  cancelEdit();
  void session.send(text, options);
}

async function download(format: 'markdown' | 'json'): Promise<void> {
  if (!session.id) return;
  const response = await api.fetch(`/ui/api/conversations/${session.id}/export?format=${format}`);
  if (!response.ok) return notice(`Export failed: ${response.status}`);
  const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? `conversation.${format === 'json' ? 'json' : 'md'}`;
  const link = document.createElement('a');
  link.href = URL.createObjectURL(await response.blob());
  link.download = name;
  link.click();
  URL.revokeObjectURL(link.href);
}

byId<HTMLFormElement>('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  submit();
});
prompt.addEventListener('keydown', (event) => {
  // Enter sends, Shift+Enter is a new line; Enter while an input method composes belongs to it.
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    submit();
  }
});
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') {
    if (session.turn) session.stop();
    else if (editIndex !== undefined) cancelEdit();
  } else if ((event.ctrlKey || event.metaKey) && event.shiftKey && event.key.toLowerCase() === 'o') {
    event.preventDefault();
    void open(null);
  }
});
stopButton.addEventListener('click', () => session.stop());
byId('new-chat').addEventListener('click', () => void open(null));
byId('cancel-edit').addEventListener('click', cancelEdit);
byId('save-template').addEventListener('click', () => void templates.saveCurrent().catch((err: Error) => notice(err.message)));
byId('rename').addEventListener('click', () => {
  const title = window.prompt('New name of this conversation', session.title)?.trim();
  if (title) void session.saveSettings({ title }).catch((err: Error) => notice(err.message));
});
byId('delete-chat').addEventListener('click', () => {
  if (!session.id || !window.confirm(`Delete "${session.title}"?`)) return;
  void api
    .json(`/ui/api/conversations/${session.id}`, { method: 'DELETE' })
    .then(() => open(null))
    .then(() => conversations.refresh())
    .catch((err: Error) => notice(err.message));
});
byId('export-md').addEventListener('click', () => void download('markdown'));
byId('export-json').addEventListener('click', () => void download('json'));
byId('forget-key').addEventListener('click', () => {
  ApiClient.forgetKey();
  notice('The API key was removed from this browser.');
});
const settingsToggle = byId<HTMLButtonElement>('settings-toggle');
settingsToggle.addEventListener('click', () => {
  const form = byId('settings');
  form.hidden = !form.hidden;
  settingsToggle.setAttribute('aria-expanded', String(!form.hidden));
});
const menuToggle = byId<HTMLButtonElement>('menu-toggle');
menuToggle.addEventListener('click', () => {
  const open = document.body.classList.toggle('sidebar-open');
  menuToggle.setAttribute('aria-expanded', String(open));
});
// A link to another conversation (#conv_...) opens it; the page's own replaceState fires no hashchange.
window.addEventListener('hashchange', () => {
  if (location.hash.slice(1) !== (session.id ?? '')) void open(location.hash.slice(1) || null);
});
setUpTheme(byId<HTMLButtonElement>('theme-toggle'));
new StatusPanel(byId('status-list')).start();

await open(location.hash.slice(1) || null);
await Promise.all([conversations.refresh(), templates.refresh()]).catch((err: Error) => notice(err.message));
