/**
 * Summarizes a folder's worth of contracts with the OpenAI Batch API against qwen3-serve, using
 * nothing but the official `openai` client: upload a JSONL file of chat requests, create a batch,
 * poll it, download the output (and error) file, join the answers back by custom_id.
 *
 *   npx qwen3-serve serve &                              # any model; data in ./data
 *   npx tsx examples/summarize-contracts.ts --contracts 8 --out summaries.json
 *
 * Flags: --base-url (default http://127.0.0.1:8080/v1), --api-key, --contracts N (synthetic
 * contracts to generate, default 8), --max-tokens (per summary, default 200), --out FILE.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import OpenAI, { toFile } from 'openai';
import { syntheticContract, type Contract } from './synthetic-contracts.js';

const { values: flags } = parseArgs({
  options: {
    'base-url': { type: 'string', default: 'http://127.0.0.1:8080/v1' },
    'api-key': { type: 'string', default: process.env.OPENAI_API_KEY ?? 'unused' },
    contracts: { type: 'string', default: '8' },
    'max-tokens': { type: 'string', default: '200' },
    out: { type: 'string' },
  },
});

const SYSTEM_PROMPT =
  'You are a paralegal. Summarize the contract for a busy manager in at most five bullet points: ' +
  'the parties, what is delivered, the money, how it ends, and any unusual risk.';

interface BatchOutputLine {
  custom_id: string;
  response: { status_code: number; body: { choices?: { message: { content: string } }[]; error?: { message: string } } } | null;
  error: { code: string; message: string } | null;
}

async function main(): Promise<void> {
  const client = new OpenAI({ baseURL: flags['base-url'], apiKey: flags['api-key'] });
  const model = (await client.models.list()).data[0].id;
  const contracts = Array.from({ length: Number(flags.contracts) }, (_, i) => syntheticContract(i));

  // One chat request per contract; custom_id is how answers are joined back to contracts.
  const lines = contracts.map((contract) => ({
    custom_id: contract.id,
    method: 'POST',
    url: '/v1/chat/completions',
    body: {
      model,
      messages: [
        { role: 'system', content: SYSTEM_PROMPT },
        { role: 'user', content: contract.text },
      ],
      max_tokens: Number(flags['max-tokens']),
      temperature: 0.2,
      // Qwen3: answer directly, without a thinking block.
      chat_template_kwargs: { enable_thinking: false },
    },
  }));
  const jsonl = lines.map((line) => JSON.stringify(line)).join('\n');
  const file = await client.files.create({ file: await toFile(Buffer.from(jsonl), 'contracts.jsonl'), purpose: 'batch' });
  console.log(`uploaded ${file.id}: ${contracts.length} contracts, ${file.bytes} bytes`);

  let batch = await client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
    metadata: { job: 'contract-summaries' },
  });
  console.log(`batch ${batch.id} created (${model})`);
  while (!['completed', 'failed', 'cancelled', 'expired'].includes(batch.status)) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    batch = await client.batches.retrieve(batch.id);
    const counts = batch.request_counts;
    console.log(`  ${batch.status}: ${counts?.completed ?? 0} done, ${counts?.failed ?? 0} failed of ${counts?.total ?? '?'}`);
  }
  if (batch.status === 'failed') throw new Error(`the batch failed: ${JSON.stringify(batch.errors?.data)}`);

  const answers = new Map<string, BatchOutputLine>();
  for (const fileId of [batch.output_file_id, batch.error_file_id]) {
    if (!fileId) continue;
    const text = await (await client.files.content(fileId)).text();
    for (const line of text.split('\n').filter(Boolean)) {
      const answer = JSON.parse(line) as BatchOutputLine;
      answers.set(answer.custom_id, answer);
    }
  }

  const report = contracts.map((contract: Contract) => ({ id: contract.id, title: contract.title, summary: summaryOf(answers.get(contract.id)) }));
  for (const entry of report) console.log(`\n## ${entry.id}: ${entry.title}\n${entry.summary}`);
  console.log(`\n${batch.request_counts?.completed} summarized, ${batch.request_counts?.failed} failed; tokens: ${batch.usage?.input_tokens} in, ${batch.usage?.output_tokens} out`);
  if (flags.out) {
    writeFileSync(flags.out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`wrote ${flags.out}`);
  }
}

function summaryOf(answer: BatchOutputLine | undefined): string {
  if (!answer) return '(no answer)';
  if (answer.error) return `(not run: ${answer.error.code})`;
  const body = answer.response!.body;
  if (answer.response!.status_code !== 200) return `(failed with ${answer.response!.status_code}: ${body.error?.message})`;
  return body.choices![0].message.content;
}

await main();
