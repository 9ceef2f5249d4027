import type OpenAI from 'openai';
import type { ChatCompletionCreateParamsStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { generateContract } from './serve/contract-text.js';

/** One chat whose history grows by a document and an answer per turn. */
export interface MultiTurnChatOptions {
  /** The served model's name. */
  model: string;
  turns: number;
  /** Characters of each turn's document (about 4 per token of the real Qwen3 vocabulary). */
  documentChars: number;
  /** Tokens of each answer (EOS ignored, so every turn adds the same). */
  answerTokens: number;
  /** Seeds the documents: the same seed gives the same chat. */
  seed: number;
}

/** What the client saw of one turn. */
export interface TurnResult {
  turn: number;
  promptTokens: number;
  /** usage.prompt_tokens_details.cached_tokens: prompt tokens served from the prefix cache. */
  cachedTokens: number;
  /** Request sent to the first generated token (ms). */
  ttftMs: number;
  /** Request sent to the end of the stream (ms). */
  totalMs: number;
}

/** The turns as the client saw them, and the whole conversation: system prompt, then each turn's message and answer. */
export interface MultiTurnChat {
  turns: TurnResult[];
  messages: ChatCompletionMessageParam[];
}

/** Turn `turn`'s request (1-based): the system prompt, the earlier turns with their answers, and its own message. */
export const turnMessages = (messages: ChatCompletionMessageParam[], turn: number) => messages.slice(0, 2 * turn);

const SYSTEM_PROMPT = 'You are a careful contract lawyer. The user shares one document per turn; answer each question about everything shared so far.';

/**
 * Runs the chat turn by turn, as a chat client does: every request sends the whole history
 * (system prompt, each earlier document and answer) plus the new document. Greedy, thinking off,
 * streamed with logprobs so the first token is a chunk of its own even when its text is held back.
 */
export async function runMultiTurnChat(client: OpenAI, options: MultiTurnChatOptions): Promise<MultiTurnChat> {
  const messages: ChatCompletionMessageParam[] = [{ role: 'system', content: SYSTEM_PROMPT }];
  const results: TurnResult[] = [];
  for (let turn = 1; turn <= options.turns; turn++) {
    const document = generateContract(options.seed + turn, options.documentChars);
    messages.push({ role: 'user', content: `Document ${turn}:\n${document}\n\nWhich obligations does document ${turn} add to the earlier ones?` });
    const started = performance.now();
    const stream = await client.chat.completions.create({
      model: options.model,
      messages,
      max_tokens: options.answerTokens,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
      logprobs: true,
      ignore_eos: true,
      chat_template_kwargs: { enable_thinking: false },
    } as ChatCompletionCreateParamsStreaming);
    let ttftMs: number | null = null;
    let answer = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (ttftMs === null && choice?.logprobs?.content?.length) ttftMs = performance.now() - started;
      answer += choice?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    if (ttftMs === null || usage === undefined) throw new Error(`turn ${turn} streamed no token or no usage`);
    messages.push({ role: 'assistant', content: answer });
    results.push({
      turn,
      promptTokens: usage.prompt_tokens,
      cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
      ttftMs,
      totalMs: performance.now() - started,
    });
  }
  return { turns: results, messages };
}
