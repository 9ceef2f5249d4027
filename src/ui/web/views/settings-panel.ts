import type { ChatParameters } from '../../conversation.js';

/** Where the last parameters used are remembered, for the next new conversation. */
const PARAMS_STORAGE = 'qwen3-serve.params';

/**
 * The conversation's system prompt and parameter panel (temperature, top_p, top_k, max_tokens,
 * seed, thinking). Changes are handed to `onChange` as they are made; the conversation keeps
 * them, and this browser remembers the last ones for new conversations.
 */
export class SettingsPanel {
  /** The parameters last shown or read: what an invalid field falls back to. */
  private current: ChatParameters | null = null;

  constructor(
    private readonly form: HTMLFormElement,
    private readonly onChange: (changes: { systemPrompt: string; params: ChatParameters }) => void,
  ) {
    form.addEventListener('change', () => this.changed());
    form.addEventListener('submit', (event) => event.preventDefault());
  }

  show(systemPrompt: string, params: ChatParameters): void {
    this.current = params;
    this.field('system_prompt').value = systemPrompt;
    this.field('temperature').value = String(params.temperature);
    this.field('top_p').value = String(params.top_p);
    this.field('top_k').value = String(params.top_k);
    this.field('max_tokens').value = String(params.max_tokens);
    this.field('seed').value = params.seed === null ? '' : String(params.seed);
    (this.field('thinking') as HTMLInputElement).checked = params.thinking;
  }

  /** What the form holds; an invalid number keeps its previous value (the input shows it as invalid). */
  read(fallback: ChatParameters): ChatParameters {
    const number = (name: keyof ChatParameters, integer: boolean) => {
      const input = this.field(name) as HTMLInputElement;
      const value = Number(input.value);
      return input.value !== '' && input.checkValidity() && Number.isFinite(value) && (!integer || Number.isInteger(value)) ? value : (fallback[name] as number);
    };
    const seedText = this.field('seed').value.trim();
    return {
      temperature: number('temperature', false),
      top_p: number('top_p', false),
      top_k: number('top_k', true),
      max_tokens: number('max_tokens', true),
      seed: seedText === '' ? null : number('seed', true),
      thinking: (this.field('thinking') as HTMLInputElement).checked,
    };
  }

  static remembered(defaults: ChatParameters): ChatParameters {
    try {
      return { ...defaults, ...(JSON.parse(localStorage.getItem(PARAMS_STORAGE) ?? '{}') as Partial<ChatParameters>) };
    } catch {
      return defaults;
    }
  }

  private changed(): void {
    if (!this.current) return;
    const params = this.read(this.current);
    this.current = params;
    localStorage.setItem(PARAMS_STORAGE, JSON.stringify(params));
    this.onChange({ systemPrompt: this.field('system_prompt').value, params });
  }

  private field(name: string): HTMLInputElement | HTMLTextAreaElement {
    return this.form.elements.namedItem(name) as HTMLInputElement | HTMLTextAreaElement;
  }
}
