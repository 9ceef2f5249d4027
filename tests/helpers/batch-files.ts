import type OpenAI from 'openai';
import { toFile } from 'openai';
import type { Batch } from 'openai/resources/batches';

/** Batch input and output files for tests: building lines, uploading, waiting, reading. */

export interface InputLine {
  custom_id: string;
  method: 'POST';
  url: '/v1/chat/completions' | '/v1/completions' | '/v1/responses';
  body: Record<string, unknown>;
}

/** A greedy chat line: deterministic output, so runs can be compared token for token. */
export function greedyChatLine(customId: string, content: string, maxTokens: number): InputLine {
  return {
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { messages: [{ role: 'user', content }], max_tokens: maxTokens, temperature: 0, ignore_eos: true },
  };
}

export const jsonl = (lines: readonly unknown[]) => `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`;

export async function uploadBatchFile(client: OpenAI, text: string, name = 'input.jsonl'): Promise<OpenAI.FileObject> {
  return client.files.create({ file: await toFile(Buffer.from(text), name), purpose: 'batch' });
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'expired']);

/** Polls a batch until it reaches a terminal status (bounded by `timeoutMs`). */
export async function waitForBatch(client: OpenAI, id: string, timeoutMs = 60_000, until: (batch: Batch) => boolean = (b) => TERMINAL.has(b.status)): Promise<Batch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await client.batches.retrieve(id);
    if (until(batch)) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} is still ${batch.status} (${JSON.stringify(batch.request_counts)}) after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One line of an output or error file. */
export interface OutputLine {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: Record<string, unknown> } | null;
  error: { code: string; message: string } | null;
}

/** A file's content through the SDK, as raw text. */
export async function fileText(client: OpenAI, fileId: string | null | undefined): Promise<string> {
  if (!fileId) return '';
  return (await client.files.content(fileId)).text();
}

export const parseOutput = (text: string): OutputLine[] =>
  text === '' ? [] : text.trimEnd().split('\n').map((line) => JSON.parse(line) as OutputLine);

/**
 * What a generation body says, without the fields that differ per run: ids, timestamps, and the
 * prompt tokens found in the prefix cache, which depend on what the server ran before.
 */
export function generationContent(body: Record<string, unknown> | undefined): unknown {
  if (!body) return undefined;
  const { id: _id, created: _created, usage, ...rest } = body;
  if (usage === undefined) return rest;
  const { prompt_tokens_details: _cached, ...counts } = usage as Record<string, unknown>;
  return { ...rest, usage: counts };
}
