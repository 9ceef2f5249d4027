import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBenchGguf } from '../loadtest/bench/bench-models.js';
import type { LlamaCppMultiTurnResult } from '../loadtest/bench/llama-cpp-multi-turn.js';
import type { TurnResult } from '../loadtest/multi-turn-chat.js';
import { TINY_MODEL_SEED, tinyModelDir } from './helpers/models.js';

const run = promisify(execFile);

/**
 * loadtest/multi-turn.ts on the tiny int4 model and the Q4_0 GGUF of the same weights, 3 short
 * turns, prefix caching on only: llama.cpp gets our server's prompts and keeps what they share.
 * What it reports, never its speed.
 */
describe('multi-turn benchmark CLI', () => {
  const work = mkdtempSync(join(tmpdir(), 'multi-turn-cli-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('runs the chat on our server, then the same prompt tokens on llama.cpp, and prints both', async () => {
    const gguf = ensureBenchGguf({ preset: 'tiny', type: 'q4_0', seed: TINY_MODEL_SEED }, work);
    const json = join(work, 'multi-turn.json');
    const args = ['--import', 'tsx', 'loadtest/multi-turn.ts', '--model', tinyModelDir('int4'), '--gguf', gguf, '--modes', 'on', '--turns', '3', '--document-chars', '200', '--answer-tokens', '4', '--json', json];
    const { stdout } = await run(process.execPath, args, { timeout: 120_000 });
    const result = JSON.parse(readFileSync(json, 'utf8')) as { modes: { prefixCaching: boolean; turns: TurnResult[] }[]; llamaCpp: LlamaCppMultiTurnResult & { gguf: string } };
    expect(result.modes.map((m) => m.prefixCaching)).toEqual([true]);
    const ours = result.modes[0].turns;
    const llama = result.llamaCpp.turns;
    expect(result.llamaCpp.gguf).toBe(gguf);
    expect(result.llamaCpp.build.nodeLlamaCpp).toBe('3.21.1');
    expect(llama.map((t) => t.promptTokens)).toEqual(ours.map((t) => t.promptTokens));
    expect(llama[0].reusedTokens).toBe(0);
    for (const [i, turn] of llama.entries()) {
      expect(turn.ttftMs).toBeGreaterThan(0);
      expect(turn.totalMs).toBeGreaterThanOrEqual(turn.ttftMs);
      // Later turns keep at least the system prompt and the first document, never the whole prompt.
      if (i > 0) expect(turn.reusedTokens).toBeGreaterThan(llama[0].promptTokens / 2);
      expect(turn.reusedTokens).toBeLessThan(turn.promptTokens);
    }
    expect(stdout).toMatch(/\| turn +\| prompt tokens +\| cached \(on\) +\| TTFT on \(s\) +\| llama\.cpp kept +\| llama\.cpp TTFT \(s\) +\| ours on \/ llama\.cpp +\|/);
    expect(stdout).toMatch(/last turn \/ first turn TTFT: [\d.]+x with prefix caching, [\d.]+x llama\.cpp \(\w+ build\)/);
    // The plot of the same results.
    const png = join(work, 'ttft.png');
    const plotted = await run(process.execPath, ['--import', 'tsx', 'loadtest/multi-turn-plot.ts', '--out', png, json], { timeout: 60_000 });
    expect(plotted.stdout).toContain('6 points');
    expect(readFileSync(png).subarray(1, 4).toString('latin1')).toBe('PNG');
  }, 180_000);
});
