/**
 * Time to first token through a 10-turn chat whose history grows (about 3k tokens by turn 10 on
 * the real Qwen3 vocabulary), prefix caching on against off. The goal of issue 11: with prefix
 * caching, turn 10 answers within 2x of turn 1's TTFT, because only the new document is prefilled.
 *
 *   npx tsx loadtest/multi-turn.ts --model models/qwen3-4b-int4-b128-seed0 [--threads 2] [--json out.json]
 *   npx tsx loadtest/multi-turn.ts --preset qwen3-4b      # exports (or reuses) that model first
 *   npx tsx loadtest/multi-turn.ts --quick                # the tiny model, 3 short turns: checks the path
 *
 * One server process per mode (`--no-prefix-caching` for off), the same seeded chat in both; one
 * warm-up request first (a fresh session's first passes are slower), then the turns one after
 * another, each streamed with TTFT measured by the client.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { DEFAULT_MODEL_CACHE, ensureBenchModel } from './bench/bench-models.js';
import { describeMachine } from './bench/machine-info.js';
import { markdownTable } from './bench/markdown-table.js';
import { startBatchBenchServer } from './batch-server.js';
import { runMultiTurnChat, type MultiTurnChatOptions, type TurnResult } from './multi-turn-chat.js';

const { values: flags } = parseArgs({
  options: {
    model: { type: 'string' },
    preset: { type: 'string', default: 'qwen3-4b' },
    cache: { type: 'string', default: DEFAULT_MODEL_CACHE },
    threads: { type: 'string' },
    turns: { type: 'string' },
    'document-chars': { type: 'string' },
    'answer-tokens': { type: 'string' },
    json: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});

/** The same chat shape as the goal: about 270 document + 32 answer tokens per turn. */
const FULL = { turns: 10, documentChars: 1100, answerTokens: 32 };
const QUICK = { turns: 3, documentChars: 200, answerTokens: 4 };

interface ModeResult {
  prefixCaching: boolean;
  turns: TurnResult[];
  /** Last turn's TTFT over the first turn's. */
  lastToFirst: number;
}

async function main(): Promise<void> {
  const shape = flags.quick ? QUICK : FULL;
  const chat: Omit<MultiTurnChatOptions, 'model'> = {
    turns: Number(flags.turns ?? shape.turns),
    documentChars: Number(flags['document-chars'] ?? shape.documentChars),
    answerTokens: Number(flags['answer-tokens'] ?? shape.answerTokens),
    seed: 11,
  };
  const preset = flags.quick ? 'tiny' : flags.preset;
  if (preset !== 'tiny' && preset !== 'qwen3-4b') throw new Error(`--preset must be tiny or qwen3-4b, got ${preset}`);
  const modelDir =
    flags.model ?? ensureBenchModel({ preset, format: { bits: 4, blockSize: preset === 'tiny' ? 32 : 128 }, seed: 0 }, flags.cache, log);
  const machine = describeMachine();
  log(`${machine.cpuModel}, ${machine.cores} cores, ${machine.simdFlags.join(' ')}`);

  const modes: ModeResult[] = [];
  for (const prefixCaching of [true, false]) {
    const args = ['--model', modelDir, '--max-seqs', '2', ...(flags.threads ? ['--threads', flags.threads] : []), ...(prefixCaching ? [] : ['--no-prefix-caching'])];
    log(`starting qwen3-serve ${args.join(' ')}`);
    const server = await startBatchBenchServer(args);
    try {
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60 * 60_000 });
      const model = (await client.models.list()).data[0].id;
      await client.completions.create({ model, prompt: 'Warm-up.', max_tokens: 2, temperature: 0 });
      const turns = await runMultiTurnChat(client, { ...chat, model });
      for (const t of turns) log(`prefix caching ${prefixCaching ? 'on' : 'off'}: turn ${t.turn}, ${t.promptTokens} prompt tokens (${t.cachedTokens} cached), TTFT ${(t.ttftMs / 1000).toFixed(2)} s`);
      modes.push({ prefixCaching, turns, lastToFirst: turns[turns.length - 1].ttftMs / turns[0].ttftMs });
    } finally {
      await server.stop();
    }
  }

  const [on, off] = modes;
  const seconds = (ms: number) => (ms / 1000).toFixed(2);
  const table = markdownTable(
    ['turn', 'prompt tokens', 'cached (on)', 'TTFT on (s)', 'TTFT off (s)', 'off / on'],
    on.turns.map((t, i) => [String(t.turn), String(t.promptTokens), String(t.cachedTokens), seconds(t.ttftMs), seconds(off.turns[i].ttftMs), (off.turns[i].ttftMs / t.ttftMs).toFixed(2)]),
  );
  process.stdout.write(
    `${table}\n\nlast turn / first turn TTFT: ${on.lastToFirst.toFixed(2)}x with prefix caching, ${off.lastToFirst.toFixed(2)}x without\n` +
      `model ${modelDir}; ${machine.cpuModel} (${machine.cores} cores; ${machine.simdFlags.join(' ')})\n`,
  );
  if (flags.json) writeFileSync(flags.json, `${JSON.stringify({ model: modelDir, chat, machine, modes }, null, 2)}\n`);
}

function log(line: string): void {
  process.stderr.write(`[multi-turn] ${line}\n`);
}

await main();
