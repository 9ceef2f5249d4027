import type { ConversationSummary } from '../../conversation.js';
import type { ApiClient } from '../api/api-client.js';

/** The sidebar's list of stored conversations, newest change first; the open one is marked. */
export class ConversationList {
  private items: ConversationSummary[] = [];
  current: string | null = null;

  constructor(
    private readonly list: HTMLElement,
    private readonly api: ApiClient,
    private readonly open: (id: string) => void,
  ) {}

  async refresh(): Promise<void> {
    this.items = (await this.api.json<{ data: ConversationSummary[] }>('/ui/api/conversations')).data;
    this.draw();
  }

  select(id: string | null): void {
    this.current = id;
    this.draw();
  }

  private draw(): void {
    this.list.replaceChildren(
      ...this.items.map((item) => {
        const li = document.createElement('li');
        const link = document.createElement('button');
        link.type = 'button';
        link.className = 'conversation-link';
        link.textContent = item.title;
        link.title = `${item.title} (${new Date(item.updated_at * 1000).toLocaleString()})`;
        if (item.id === this.current) link.setAttribute('aria-current', 'true');
        link.addEventListener('click', () => this.open(item.id));
        li.append(link);
        return li;
      }),
    );
  }
}
