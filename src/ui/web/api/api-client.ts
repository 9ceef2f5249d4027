/** Where the page keeps the API key: this browser's localStorage, never the server. */
const KEY_STORAGE = 'qwen3-serve.apiKey';

/** An answer the server refused, with the message of OpenAI's error envelope. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The message of an error answer: OpenAI's `{error: {message}}`, else the status line. */
export async function errorMessage(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error?: { message?: string } };
    if (body.error?.message) return body.error.message;
  } catch {
    // Not JSON (a proxy's page, say): the status says enough.
  }
  return `${response.status} ${response.statusText}`;
}

/** Asks the user for a key; `reason` says why (none yet, or the last one was refused). */
export type KeyPrompt = (reason: string) => Promise<string>;

/**
 * fetch() with the stored API key. A 401 asks the user for a key (once, however many requests
 * were refused at the same moment) and retries with it, so every caller can ignore keys.
 */
export class ApiClient {
  private pendingKey: Promise<string> | null = null;

  constructor(private readonly askForKey: KeyPrompt) {}

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    for (;;) {
      const key = localStorage.getItem(KEY_STORAGE);
      const headers = new Headers(init.headers);
      if (key) headers.set('authorization', `Bearer ${key}`);
      const response = await fetch(path, { ...init, headers });
      if (response.status !== 401) return response;
      const reason = key ? `The server refused the key: ${await errorMessage(response)}` : 'This server requires an API key.';
      this.pendingKey ??= this.askForKey(reason).finally(() => (this.pendingKey = null));
      localStorage.setItem(KEY_STORAGE, await this.pendingKey);
    }
  }

  /** A JSON answer, or an ApiError with the server's message. */
  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const response = await this.fetch(path, init);
    if (!response.ok) throw new ApiError(await errorMessage(response), response.status);
    return (await response.json()) as T;
  }

  /** A JSON request body: POST, PUT. */
  send<T>(method: string, path: string, body: unknown): Promise<T> {
    return this.json<T>(path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  /** The key in use, for the page's "forget key" action. */
  static forgetKey(): void {
    localStorage.removeItem(KEY_STORAGE);
  }
}
