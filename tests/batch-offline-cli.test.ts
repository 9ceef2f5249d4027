import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { greedyChatLine, jsonl, parseOutput } from './helpers/batch-files.js';
import { tinyModelDir } from './helpers/models.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** `qwen3-serve batch` as a real child process (from the sources through tsx), like `vllm run-batch`. */
describe('qwen3-serve batch (offline)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'batch-offline-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function runBatch(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli.ts'), 'batch', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
  }

  it('runs every line and writes all answers in input order, with a progress bar and a summary', async () => {
    const input = join(dir, 'in.jsonl');
    const output = join(dir, 'out.jsonl');
    const lines = [
      greedyChatLine('a', 'Summarize: rent is due monthly.', 6),
      { custom_id: 'b', method: 'POST', url: '/v1/chat/completions', body: { model: 'other', messages: [{ role: 'user', content: 'hi' }] } },
      greedyChatLine('c', 'Summarize: delivery within 30 days.', 5),
      greedyChatLine('d', 'Summarize: termination with notice.', 4),
    ];
    writeFileSync(input, jsonl(lines));
    const result = await runBatch(['-i', input, '-o', output, '--model', tinyModelDir('int4'), '--max-seqs', '2']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('lines:      4 (3 succeeded, 1 failed)');
    expect(result.stdout).toContain('tokens:     ');
    expect(result.stdout).toContain(`written to: ${output}`);
    expect(result.stderr).toContain('4/4 lines');
    const answers = parseOutput(readFileSync(output, 'utf8'));
    expect(answers.map((l) => [l.custom_id, l.response?.status_code])).toEqual([
      ['a', 200],
      ['b', 404],
      ['c', 200],
      ['d', 200],
    ]);
    expect((answers[0].response!.body.usage as { completion_tokens: number }).completion_tokens).toBe(6);
    expect(answers[1].response!.body).toMatchObject({ error: { code: 'model_not_found', param: 'model' } });
  });

  it('refuses a bad input file before loading the model, naming the line; writes nothing', async () => {
    const input = join(dir, 'bad.jsonl');
    const output = join(dir, 'never.jsonl');
    writeFileSync(input, jsonl([greedyChatLine('a', 'hi', 2), { ...greedyChatLine('b', 'hi', 2), url: '/v1/completions' }]));
    const result = await runBatch(['-i', input, '-o', output, '--model', tinyModelDir('int4')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${input}: line 2:`);
    expect(existsSync(output)).toBe(false);
  });
});
