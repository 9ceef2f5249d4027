import type { PromptTemplate } from '../../conversation.js';
import type { ApiClient } from '../api/api-client.js';

/** Where a template's material goes; selected after insertion so typing or pasting replaces it. */
const PLACEHOLDER = '{{text}}';

/**
 * The prompt template picker: built-in templates and the user's own (stored on the server).
 * Choosing one fills the message box; "Save as template" stores the box's text under a name, and
 * a user's template can be deleted while it is chosen.
 */
export class TemplatesMenu {
  private templates: PromptTemplate[] = [];

  constructor(
    private readonly select: HTMLSelectElement,
    private readonly deleteButton: HTMLButtonElement,
    private readonly prompt: HTMLTextAreaElement,
    private readonly api: ApiClient,
  ) {
    select.addEventListener('change', () => this.apply());
    deleteButton.addEventListener('click', () => void this.deleteChosen());
  }

  async refresh(): Promise<void> {
    this.templates = (await this.api.json<{ data: PromptTemplate[] }>('/ui/api/templates')).data;
    const choose = new Option('Templates…', '');
    const groups = [
      ['Built-in', this.templates.filter((t) => t.builtin)],
      ['Yours', this.templates.filter((t) => !t.builtin)],
    ] as const;
    this.select.replaceChildren(
      choose,
      ...groups
        .filter(([, list]) => list.length > 0)
        .map(([label, list]) => {
          const group = document.createElement('optgroup');
          group.label = label;
          group.append(...list.map((t) => new Option(t.name, t.id)));
          return group;
        }),
    );
    this.deleteButton.hidden = true;
  }

  async saveCurrent(): Promise<void> {
    const text = this.prompt.value.trim();
    if (!text) return;
    const name = window.prompt('Name of the new template', text.split('\n')[0].slice(0, 40));
    if (!name?.trim()) return;
    await this.api.send('POST', '/ui/api/templates', { name: name.trim(), prompt: text });
    await this.refresh();
  }

  private apply(): void {
    const template = this.templates.find((t) => t.id === this.select.value);
    this.deleteButton.hidden = !template || template.builtin;
    if (!template) return;
    this.prompt.value = template.prompt;
    this.prompt.focus();
    const at = template.prompt.indexOf(PLACEHOLDER);
    if (at >= 0) this.prompt.setSelectionRange(at, at + PLACEHOLDER.length);
    this.prompt.dispatchEvent(new Event('input'));
  }

  private async deleteChosen(): Promise<void> {
    const template = this.templates.find((t) => t.id === this.select.value);
    if (!template || template.builtin || !window.confirm(`Delete the template "${template.name}"?`)) return;
    await this.api.json(`/ui/api/templates/${template.id}`, { method: 'DELETE' });
    await this.refresh();
  }
}
