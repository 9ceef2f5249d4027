/**
 * Times `OnnxRunner.forward` alone: one decode step of `--rows` rows at a fixed past length (or,
 * with `--new-tokens N`, a prefill chunk of N tokens per row),
 * repeated, with no engine, sampling or HTTP around it. The engine benchmark says how much of a
 * step is the forward pass (99%); this says what the forward pass itself costs for a batch shape,
 * which separates the matrix multiplies (rows) from the KV copy (past length, see KvPool).
 *
 *   npx tsx loadtest/forward-probe.ts --model models/qwen3-4b-int4-b128-seed0 --rows 8 --past 150
 *   npx tsx loadtest/forward-probe.ts --model models/qwen3-4b-int4-b128-seed0-prefill-kv8 --rows 1,8 --past 8192 --max-len 8300
 *   npx tsx loadtest/forward-probe.ts --model models/qwen3-4b-int4-b128-seed0-prefill --new-tokens 128 --past 1024
 *
 * A folder with a prefill graph (export --prefill-graph) runs chunks of more than one token
 * through it, as the server does; `--no-prefill-graph` times the main graph instead.
 *
 * The past is written first: row 0 is prefilled with `--past` tokens (in chunks of `--fill-chunk`,
 * default 512) and copied into the other rows, so attention reads committed memory. (Rows that
 * were never written are the operating system's shared zero page, which reads from cache and made
 * long contexts look cheaper than they are; `--no-fill` still times that, for comparison.) Prints
 * one JSON line.
 */
import { parseArgs } from 'node:util';
import { parseFlag, parseNonNegativeInt, parsePositiveInt } from '../src/cli-options/option-parsers.js';
import { readModelManifest } from '../src/model/model-manifest.js';
import { OnnxRunner } from '../src/model/runner/onnx-runner.js';
import { parseSpinPolicy } from '../src/model/runner/open-session.js';

const { values: flags } = parseArgs({
  options: {
    model: { type: 'string' },
    rows: { type: 'string', default: '1' },
    past: { type: 'string', default: '64' },
    steps: { type: 'string', default: '10' },
    'warmup-steps': { type: 'string', default: '2' },
    'max-seqs': { type: 'string', default: '8' },
    'max-len': { type: 'string', default: '8192' },
    threads: { type: 'string' },
    'new-tokens': { type: 'string', default: '1' },
    'no-prefill-graph': { type: 'boolean', default: false },
    profile: { type: 'string' },
    spinning: { type: 'string' },
    'fill-chunk': { type: 'string', default: '512' },
    'no-fill': { type: 'boolean', default: false },
  },
});
if (!flags.model) throw new Error('--model <dir> is required');
// --rows 1,8 times each row count in turn over one fill.
const rowCounts = flags.rows.split(',').map((part) => parseFlag('rows', part, parsePositiveInt));
const rows = Math.max(...rowCounts);
const past = parseFlag('past', flags.past, parseNonNegativeInt);
const steps = parseFlag('steps', flags.steps, parsePositiveInt);
const warmup = parseFlag('warmup-steps', flags['warmup-steps'], parseNonNegativeInt);
const newTokens = parseFlag('new-tokens', flags['new-tokens'], parsePositiveInt);
const manifest = readModelManifest(flags.model);

const runner = await OnnxRunner.open({
  onnxPath: manifest.onnxPath,
  prefillOnnxPath: flags['no-prefill-graph'] ? undefined : manifest.prefillOnnxPath,
  device: 'cpu',
  maxSeqs: parseFlag('max-seqs', flags['max-seqs'], parsePositiveInt),
  maxLen: parseFlag('max-len', flags['max-len'], parsePositiveInt),
  ...(flags.profile !== undefined ? { profileFilePrefix: flags.profile } : {}),
  ...(flags.spinning !== undefined ? { spinning: parseSpinPolicy(flags.spinning) } : {}),
  ...(flags.threads !== undefined ? { threads: parseFlag('threads', flags.threads, parsePositiveInt) } : {}),
});
try {
  const fillStarted = performance.now();
  if (!flags['no-fill'] && past > 0) {
    const chunk = parseFlag('fill-chunk', flags['fill-chunk'], parsePositiveInt);
    for (let done = 0; done < past; done += chunk) {
      const size = Math.min(chunk, past - done);
      await runner.forward({ firstRow: 0, tokens: [Array.from({ length: size }, (_, j) => 500 + ((done + j) * 7919) % 100_000)], pastLengths: [done] });
    }
    for (let row = 1; row < rows; row++) runner.copyRow(0, row, past);
  }
  const fillSeconds = (performance.now() - fillStarted) / 1000;
  for (const count of rowCounts) {
    const stepMs: number[] = [];
    for (let step = 0; step < warmup + steps; step++) {
      const started = performance.now();
      // Decodes: each row's past grows by one per step, as in decoding. Chunks: every step writes
      // the same positions again (the cache values do not change the cost). Any token ids do.
      await runner.forward({
        firstRow: 0,
        tokens: Array.from({ length: count }, (_, row) => Array.from({ length: newTokens }, (_, j) => 1000 + row + step + j)),
        pastLengths: Array.from({ length: count }, () => past + (newTokens === 1 ? step : 0)),
      });
      if (step >= warmup) stepMs.push(performance.now() - started);
    }
    stepMs.sort((a, b) => a - b);
    const round = (ms: number) => Math.round(ms * 10) / 10;
    console.log(JSON.stringify({ model: flags.model, prefillGraph: runner.hasPrefillGraph, kvCache: runner.kvCacheType, spinning: flags.spinning ?? 'default', filled: !flags['no-fill'], fillSeconds: Math.round(fillSeconds), rows: count, newTokens, past, steps, medianMs: round(stepMs[stepMs.length >> 1]), minMs: round(stepMs[0]), maxMs: round(stepMs[stepMs.length - 1]) }));
  }
} finally {
  await runner.close();
}
