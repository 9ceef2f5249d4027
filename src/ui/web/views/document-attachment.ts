import type { ApiClient } from '../api/api-client.js';
import { ApiError, errorMessage } from '../api/api-client.js';
import type { AttachedDocument } from '../chat/chat-session.js';

/**
 * The document attached to the next message: the file input sends a TXT, MD or PDF file to the
 * server, which answers its text (PDF text extracted there); a chip shows what is attached and
 * removes it.
 */
export class DocumentAttachment {
  document: AttachedDocument | null = null;

  constructor(
    private readonly input: HTMLInputElement,
    private readonly chip: HTMLElement,
    private readonly api: ApiClient,
    private readonly notice: (message: string) => void,
  ) {
    input.addEventListener('change', () => void this.upload());
  }

  clear(): void {
    this.document = null;
    this.input.value = '';
    this.chip.hidden = true;
    this.chip.replaceChildren();
  }

  private async upload(): Promise<void> {
    const file = this.input.files?.[0];
    if (!file) return;
    this.show(`Reading ${file.name}…`, false);
    try {
      const form = new FormData();
      form.append('file', file);
      const response = await this.api.fetch('/ui/api/documents', { method: 'POST', body: form });
      if (!response.ok) throw new ApiError(await errorMessage(response), response.status);
      const document = (await response.json()) as { filename: string; text: string; chars: number; pages: number | null };
      this.document = { filename: document.filename, text: document.text };
      this.show(`📄 ${document.filename} · ${document.chars.toLocaleString()} characters${document.pages ? ` · ${document.pages} pages` : ''}`, true);
    } catch (err) {
      this.clear();
      this.notice(`Could not read ${file.name}: ${(err as Error).message}`);
    }
  }

  private show(text: string, removable: boolean): void {
    const label = document.createElement('span');
    label.textContent = text;
    this.chip.replaceChildren(label);
    if (removable) {
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'small';
      remove.textContent = '×';
      remove.setAttribute('aria-label', 'Remove the attached document');
      remove.addEventListener('click', () => this.clear());
      this.chip.append(remove);
    }
    this.chip.hidden = false;
  }
}
