import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tinyModelDir } from './helpers/models.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Row {
  endpoint: string;
  requests: number;
  completionTokens: number;
  bytesPerToken: number;
  ttfbMedianMs: number;
  ttftMedianMs: number;
}

/**
 * The lean-stream benchmark (BENCHMARKS.md) on the tiny model: both streams measured against a
 * real server process, the token counts exact, and the NDJSON stream leaner per token.
 */
describe('loadtest/stream-framing.ts', () => {
  it('measures bytes per token and first-byte times of the SSE chat stream and the lean stream', async () => {
    const args = ['--import', 'tsx', join(root, 'loadtest/stream-framing.ts'), '--model', tinyModelDir('int4'), '--requests', '2', '--max-tokens', '12'];
    const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: root, timeout: 120_000 });
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as { rows: Row[]; leanBytesPerTokenRatio: number };
    const [sse, lean] = report.rows;
    expect(sse.endpoint).toMatch(/chat/);
    expect(lean.endpoint).toMatch(/instruct/);
    for (const row of report.rows) {
      expect(row).toMatchObject({ requests: 2, completionTokens: 24 });
      expect(row.ttfbMedianMs).toBeGreaterThan(0);
      expect(row.ttftMedianMs).toBeGreaterThanOrEqual(row.ttfbMedianMs);
    }
    // An SSE chat chunk repeats id, model, timestamps and the choice envelope for every piece.
    expect(lean.bytesPerToken).toBeLessThan(sse.bytesPerToken / 4);
    expect(report.leanBytesPerTokenRatio).toBeCloseTo(lean.bytesPerToken / sse.bytesPerToken, 2);
  }, 150_000);
});
