import type { Worker } from 'node:worker_threads';
import { ChatTemplateError } from '../../model/tokenizer/chat-template-error.js';
import { InlinePromptEncoder, type PromptEncoder } from '../../model/tokenizer/prompt-encoder.js';
import type { TemplateMessage } from '../../model/tokenizer/template-message.js';
import type { ChatTemplateOptions, RenderedChat, Tokenizer } from '../../model/tokenizer/tokenizer.js';
import { siblingModule, spawnModuleWorker } from './spawn-worker.js';
import type { TokenizerJob, TokenizerReply } from './tokenizer-protocol.js';

/** Tokenizer threads by default: one keeps long prompts off the HTTP thread without taking a core from the engine. */
export const DEFAULT_TOKENIZER_WORKERS = 1;

/**
 * Inputs up to this many characters are encoded on the calling thread: at about 1 µs per
 * character (a 3.6 MB prompt took 3 s) that is a few milliseconds, less than a round trip's
 * queueing behind a long prompt in a worker would cost a short chat.
 */
const INLINE_MAX_CHARS = 4096;

type Job = TokenizerJob extends infer J ? (J extends TokenizerJob ? Omit<J, 'id'> : never) : never;

interface PendingJob {
  resolve: (reply: TokenizerReply) => void;
  reject: (error: Error) => void;
}

/** One tokenizer thread and the jobs it has not answered yet. */
class TokenizerThread {
  readonly pending = new Map<number, PendingJob>();
  readonly ready: Promise<void>;
  private readonly worker: Worker;

  constructor(modelDir: string, onExit: (thread: TokenizerThread) => void) {
    this.worker = spawnModuleWorker(siblingModule(import.meta.url, 'tokenizer-worker'), { workerData: { modelDir } });
    // Never the reason the process stays alive (the offline batch command exits when done).
    this.worker.unref();
    this.ready = new Promise<void>((resolve, reject) => {
      this.worker.on('message', (reply: TokenizerReply) => {
        if (reply.type === 'ready') return resolve();
        if (reply.type === 'loadFailed') return reject(new Error(`the tokenizer thread could not load the tokenizer: ${reply.message}`));
        const job = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        job?.resolve(reply);
      });
      this.worker.once('error', reject);
    });
    this.ready.catch(() => {});
    this.worker.once('exit', () => {
      for (const job of this.pending.values()) job.reject(new Error('the tokenizer thread stopped'));
      this.pending.clear();
      onExit(this);
    });
  }

  run(id: number, job: Job): Promise<TokenizerReply> {
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...job, id });
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/**
 * Encodes prompts and renders chat templates on tokenizer threads, so the HTTP thread stays free
 * while long prompts arrive. Small inputs run inline on the main thread's tokenizer (same
 * results: both threads load the same files). Each job goes to the thread with the fewest jobs
 * waiting; a thread that dies is replaced and its jobs fail with a server error.
 */
export class TokenizerPool implements PromptEncoder {
  private readonly inline: InlinePromptEncoder;
  private threads: TokenizerThread[] = [];
  private nextId = 0;
  private closed = false;

  private constructor(
    private readonly modelDir: string,
    tokenizer: Tokenizer,
  ) {
    this.inline = new InlinePromptEncoder(tokenizer);
  }

  /**
   * Starts `size` threads on the model folder's tokenizer; resolves once all have loaded it.
   * Size 0 runs everything on the calling thread, as before the pool existed (the benchmark's
   * comparison; a setting for machines short of memory for another tokenizer).
   */
  static async start(modelDir: string, tokenizer: Tokenizer, size = DEFAULT_TOKENIZER_WORKERS): Promise<TokenizerPool> {
    const pool = new TokenizerPool(modelDir, tokenizer);
    pool.threads = Array.from({ length: Math.max(0, size) }, () => pool.spawn());
    try {
      await Promise.all(pool.threads.map((thread) => thread.ready));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get hasChatTemplate(): boolean {
    return this.inline.hasChatTemplate;
  }

  async encode(text: string, options: { addSpecialTokens?: boolean } = {}): Promise<number[]> {
    if (text.length <= INLINE_MAX_CHARS || this.threads.length === 0) return this.inline.encode(text, options);
    const reply = await this.dispatch({ op: 'encode', text, addSpecialTokens: options.addSpecialTokens });
    if (reply.type !== 'encoded') throw unexpected(reply);
    return reply.tokenIds;
  }

  async applyChatTemplate(messages: readonly TemplateMessage[], options: ChatTemplateOptions = {}): Promise<RenderedChat> {
    if (templateChars(messages, options) <= INLINE_MAX_CHARS || this.threads.length === 0) return this.inline.applyChatTemplate(messages, options);
    const reply = await this.dispatch({ op: 'chat', messages: [...messages], options });
    if (reply.type !== 'rendered') throw unexpected(reply);
    return reply.rendered;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((thread) => thread.terminate()));
  }

  private spawn(): TokenizerThread {
    return new TokenizerThread(this.modelDir, (dead) => {
      if (this.closed) return;
      this.threads = this.threads.map((thread) => (thread === dead ? this.spawn() : thread));
    });
  }

  private dispatch(job: Job): Promise<TokenizerReply> {
    const thread = this.threads.reduce((best, thread) => (thread.pending.size < best.pending.size ? thread : best));
    return thread.run(this.nextId++, job);
  }
}

/** A failed job as the error the inline tokenizer would have thrown. */
function unexpected(reply: TokenizerReply): Error {
  if (reply.type === 'failed') return reply.chatTemplate ? new ChatTemplateError(reply.message) : new Error(reply.message);
  return new Error(`the tokenizer thread answered ${reply.type}`);
}

/** About how much text a template renders: what the messages and tool definitions hold. */
function templateChars(messages: readonly TemplateMessage[], options: ChatTemplateOptions): number {
  let chars = options.tools ? JSON.stringify(options.tools).length : 0;
  for (const message of messages) {
    chars += message.content.length + (message.reasoning_content?.length ?? 0);
    if (message.tool_calls) chars += JSON.stringify(message.tool_calls).length;
  }
  return chars;
}
