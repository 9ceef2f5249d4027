/**
 * The chat page's document summary as a script: reads a TXT, MD or PDF file, and asks a running
 * qwen3-serve (or any OpenAI-compatible server) for a summary with the official `openai`
 * client. A document longer than the model's context is cut into parts that are summarised one
 * by one and then combined (map-reduce), by the very planner the page uses
 * (src/ui/documents/map-reduce-summary.ts); progress goes to stderr, the answer streams to stdout.
 *
 *   npx qwen3-serve serve &
 *   npx tsx examples/summarize-document.ts --file contract.pdf --instruction "List the parties, obligations, dates and amounts."
 *
 * Flags: --file (required), --instruction (default "Summarise this document."), --max-tokens
 * (per call, default 512), --base-url (default http://127.0.0.1:8080/v1), --api-key.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { extractDocumentText } from '../src/ui/documents/extract-text.js';
import { planDocumentSummary } from '../src/ui/documents/map-reduce-summary.js';

const { values: flags } = parseArgs({
  options: {
    file: { type: 'string' },
    instruction: { type: 'string', default: 'Summarise this document.' },
    'max-tokens': { type: 'string', default: '512' },
    'base-url': { type: 'string', default: 'http://127.0.0.1:8080/v1' },
    'api-key': { type: 'string', default: process.env.OPENAI_API_KEY ?? 'unused' },
  },
});

async function main(): Promise<void> {
  if (!flags.file) throw new Error('--file is required');
  const client = new OpenAI({ baseURL: flags['base-url'], apiKey: flags['api-key'] });
  // qwen3-serve's /v1/models says how long a prompt may be (vLLM's max_model_len).
  const model = (await client.models.list()).data[0] as OpenAI.Models.Model & { max_model_len?: number };
  const document = await extractDocumentText(basename(flags.file), new Uint8Array(readFileSync(flags.file)));
  const maxTokens = Number(flags['max-tokens']);
  // Qwen3 answers directly (no thinking block): part summaries are read by the model, not a person.
  const noThinking = { chat_template_kwargs: { enable_thinking: false } } as Record<string, unknown>;

  const plan = await planDocumentSummary(document.filename, document.text, {
    contextTokens: model.max_model_len ?? 8192,
    answerTokens: maxTokens,
    instruction: flags.instruction!,
    complete: async (prompt, partTokens) => {
      const answer = await client.chat.completions.create({ model: model.id, messages: [{ role: 'user', content: prompt }], max_tokens: partTokens, temperature: 0.2, ...noThinking });
      return answer.choices[0]?.message.content ?? '';
    },
    onProgress: ({ phase, done, total, round }) => process.stderr.write(`${phase === 'map' ? 'summarising parts' : `combining (round ${round})`}: ${done}/${total}\n`),
  });
  process.stderr.write(`${document.filename}: ${document.text.length} characters, ${plan.parts === 1 ? 'read whole' : `${plan.parts} parts`}\n`);

  const stream = await client.chat.completions.create({ model: model.id, messages: [{ role: 'user', content: plan.finalPrompt }], max_tokens: maxTokens, temperature: 0.2, stream: true, ...noThinking });
  for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta.content ?? '');
  process.stdout.write('\n');
}

main().catch((err: Error) => {
  process.stderr.write(`summarize-document: ${err.message}\n`);
  process.exit(1);
});
