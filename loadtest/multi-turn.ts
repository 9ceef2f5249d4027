/**
 * Time to first token through a 10-turn chat whose history grows (about 3k tokens by turn 10 on
 * the real Qwen3 vocabulary), prefix caching on against off, and llama.cpp on the same prompts.
 * The goal of issue 11: with prefix caching, turn 10 answers within 2x of turn 1's TTFT, because
 * only the new document is prefilled; llama.cpp's figure beside it.
 *
 *   npx tsx loadtest/multi-turn.ts --model models/qwen3-4b-int4-b128-seed0 [--threads 2] [--json out.json]
 *   npx tsx loadtest/multi-turn.ts --preset qwen3-4b      # exports (or reuses) that model and its GGUF first
 *   npx tsx loadtest/multi-turn.ts --quick                # the tiny model, 3 short turns: checks the path
 *   --modes on          # prefix caching on only (off prefills the whole history every turn: slow)
 *   --gguf FILE | --no-llama-cpp
 *
 * One server process per mode (`--no-prefix-caching` for off), the same seeded chat in both; one
 * warm-up request first (a fresh session's first passes are slower), then the turns one after
 * another, each streamed with TTFT measured by the client. llama.cpp (node-llama-cpp, a process of
 * its own, after ours) gets the token ids of the prompts our server was sent in the first mode,
 * the chat template applied by our tokenizer (checked against the server's prompt_tokens), on one
 * sequence that keeps what the new prompt shares with its KV cache.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { loadTokenizer } from '../src/model/tokenizer/load-tokenizer.js';
import { DEFAULT_MODEL_CACHE, ensureBenchGguf, ensureBenchModel } from './bench/bench-models.js';
import { runInChildProcess } from './bench/fork-module.js';
import type { LlamaCppMultiTurnParams, LlamaCppMultiTurnResult } from './bench/llama-cpp-multi-turn.js';
import { describeMachine } from './bench/machine-info.js';
import { markdownTable } from './bench/markdown-table.js';
import { startBatchBenchServer } from './batch-server.js';
import { runMultiTurnChat, turnMessages, type MultiTurnChatOptions, type TurnResult } from './multi-turn-chat.js';

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
    modes: { type: 'string', default: 'on,off' },
    gguf: { type: 'string' },
    'no-llama-cpp': { type: 'boolean', default: false },
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

  const wanted = (flags.modes ?? '').split(',').map((mode) => mode.trim());
  if (wanted.length === 0 || wanted.some((mode) => mode !== 'on' && mode !== 'off')) throw new Error(`--modes takes on, off or on,off, got ${flags.modes}`);
  const modes: ModeResult[] = [];
  let prompts: number[][] = [];
  for (const prefixCaching of [true, false].filter((on) => wanted.includes(on ? 'on' : 'off'))) {
    const args = ['--model', modelDir, '--max-seqs', '2', ...(flags.threads ? ['--threads', flags.threads] : []), ...(prefixCaching ? [] : ['--no-prefix-caching'])];
    log(`starting qwen3-serve ${args.join(' ')}`);
    const server = await startBatchBenchServer(args);
    try {
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60 * 60_000 });
      const model = (await client.models.list()).data[0].id;
      await client.completions.create({ model, prompt: 'Warm-up.', max_tokens: 2, temperature: 0 });
      const { turns, messages } = await runMultiTurnChat(client, { ...chat, model });
      for (const t of turns) log(`prefix caching ${prefixCaching ? 'on' : 'off'}: turn ${t.turn}, ${t.promptTokens} prompt tokens (${t.cachedTokens} cached), TTFT ${(t.ttftMs / 1000).toFixed(2)} s`);
      modes.push({ prefixCaching, turns, lastToFirst: turns[turns.length - 1].ttftMs / turns[0].ttftMs });
      if (prompts.length === 0) prompts = await promptTokenIds(modelDir, messages, turns);
    } finally {
      await server.stop();
    }
  }

  let llamaCpp: (LlamaCppMultiTurnResult & { gguf: string; lastToFirst: number }) | null = null;
  if (!flags['no-llama-cpp']) {
    const gguf = flags.gguf ?? ensureBenchGguf({ preset, type: 'q4_0', seed: 0 }, flags.cache, log);
    log(`llama.cpp: ${gguf}, the same ${prompts.length} prompts`);
    const params: LlamaCppMultiTurnParams = { ggufPath: gguf, threads: Number(flags.threads ?? 2), prompts, answerTokens: chat.answerTokens };
    const run = await runInChildProcess<LlamaCppMultiTurnResult>(new URL(`./bench/llama-cpp-multi-turn.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url), params);
    for (const t of run.turns) log(`llama.cpp: turn ${t.turn}, ${t.promptTokens} prompt tokens (${t.reusedTokens} kept), TTFT ${(t.ttftMs / 1000).toFixed(2)} s`);
    llamaCpp = { ...run, gguf, lastToFirst: run.turns[run.turns.length - 1].ttftMs / run.turns[0].ttftMs };
  }

  const on = modes.find((m) => m.prefixCaching);
  const off = modes.find((m) => !m.prefixCaching);
  const seconds = (ms: number) => (ms / 1000).toFixed(2);
  const reference = (on ?? off)!;
  const columns = ['turn', 'prompt tokens'];
  if (on) columns.push('cached (on)', 'TTFT on (s)');
  if (off) columns.push('TTFT off (s)');
  if (llamaCpp) columns.push('llama.cpp kept', 'llama.cpp TTFT (s)', 'ours on / llama.cpp');
  const table = markdownTable(
    columns,
    reference.turns.map((t, i) => {
      const row = [String(t.turn), String(t.promptTokens)];
      if (on) row.push(String(on.turns[i].cachedTokens), seconds(on.turns[i].ttftMs));
      if (off) row.push(seconds(off.turns[i].ttftMs));
      if (llamaCpp) row.push(String(llamaCpp.turns[i].reusedTokens), seconds(llamaCpp.turns[i].ttftMs), on ? (on.turns[i].ttftMs / llamaCpp.turns[i].ttftMs).toFixed(2) : '');
      return row;
    }),
  );
  const summary = [
    on ? `${on.lastToFirst.toFixed(2)}x with prefix caching` : null,
    off ? `${off.lastToFirst.toFixed(2)}x without` : null,
    llamaCpp ? `${llamaCpp.lastToFirst.toFixed(2)}x llama.cpp (${llamaCpp.build.cpuVariant} build)` : null,
  ].filter((part) => part !== null);
  process.stdout.write(
    `${table}\n\nlast turn / first turn TTFT: ${summary.join(', ')}\n` + `model ${modelDir}; ${machine.cpuModel} (${machine.cores} cores; ${machine.simdFlags.join(' ')})\n`,
  );
  if (flags.json) writeFileSync(flags.json, `${JSON.stringify({ model: modelDir, chat, machine, modes, llamaCpp }, null, 2)}\n`);
}

/**
 * Each turn's prompt as token ids: the conversation up to that turn through the model's chat
 * template, thinking off, as the server rendered it; refuses a count that differs from the
 * server's prompt_tokens, so llama.cpp is never sent other tokens than ours.
 */
async function promptTokenIds(modelDir: string, messages: Parameters<typeof turnMessages>[0], turns: TurnResult[]): Promise<number[][]> {
  const tokenizer = await loadTokenizer(modelDir);
  return turns.map((t) => {
    const history = turnMessages(messages, t.turn).map((m) => {
      if (m.role !== 'system' && m.role !== 'user' && m.role !== 'assistant') throw new Error(`unexpected ${m.role} message in the chat`);
      return { role: m.role, content: String(m.content) };
    });
    const ids = tokenizer.applyChatTemplate(history, { enableThinking: false }).tokenIds;
    if (ids.length !== t.promptTokens) throw new Error(`turn ${t.turn}: the chat template gives ${ids.length} tokens here, the server counted ${t.promptTokens}`);
    return ids;
  });
}

function log(line: string): void {
  process.stderr.write(`[multi-turn] ${line}\n`);
}

await main();
