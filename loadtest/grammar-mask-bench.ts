/**
 * What a grammar mask costs per engine step: `rows` constrained sequences each ask xgrammar for
 * their allowed-token bitmask and apply it to a logits row of the model's width, as
 * EngineCore.grammarMasks and Sequence.advance do, with the model's real vocabulary (the tiny
 * test model carries Qwen3's tokenizer, so its vocabulary is the 4B model's). Compared with a
 * decode step time given on the command line (BENCHMARKS.md: 724 ms for the qwen3-4b shape at 8
 * rows, past 128, on the AMD EPYC machine).
 *
 *   npx tsx loadtest/grammar-mask-bench.ts --model .vitest-cache/models/<key>/int4 [--rows 8] [--steps 200] [--step-ms 724] [--json FILE]
 *
 * No forward pass runs: each row's token is drawn uniformly among the tokens its mask allows
 * (seeded), so the grammars walk through keys, numbers, strings and arrays as a model's would.
 * Sampling itself is not timed (it runs with or without a grammar). Prints a Markdown table and
 * one JSON line.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseFlag, parsePositiveInt } from '../src/cli-options/option-parsers.js';
import { GrammarCompiler } from '../src/engine/constraints/grammar-compiler.js';
import type { GrammarSpec } from '../src/engine/constraints/grammar-spec.js';
import type { TokenConstraint } from '../src/engine/constraints/token-constraint.js';
import { applyTokenMask } from '../src/engine/sampling/token-mask.js';
import { readModelManifest } from '../src/model/model-manifest.js';
import { loadTokenizer } from '../src/model/tokenizer/load-tokenizer.js';
import { RandomStream } from '../src/random/random-stream.js';
import { describeMachine } from './bench/machine-info.js';
import { markdownTable } from './bench/markdown-table.js';

const { values: flags } = parseArgs({
  options: {
    model: { type: 'string' },
    rows: { type: 'string', default: '8' },
    steps: { type: 'string', default: '200' },
    'step-ms': { type: 'string', default: '724' },
    'logits-width': { type: 'string', default: '151936' },
    json: { type: 'string' },
  },
});
if (!flags.model) throw new Error('--model <dir> is required (a folder with the tokenizer whose vocabulary to use)');
const rows = parseFlag('rows', flags.rows, parsePositiveInt);
const steps = parseFlag('steps', flags.steps, parsePositiveInt);
const stepMs = Number(flags['step-ms']);
const logitsWidth = parseFlag('logits-width', flags['logits-width'], parsePositiveInt);

/** A realistic extraction schema (strings bounded, so rows do not stay in one string forever) and free JSON. */
const WORKLOADS: Record<string, GrammarSpec> = {
  'invoice schema': {
    type: 'json_schema',
    schema: JSON.stringify({
      type: 'object',
      properties: {
        id: { type: 'integer', minimum: 1, maximum: 99999 },
        customer: { type: 'string', maxLength: 24 },
        paid: { type: 'boolean' },
        currency: { enum: ['EUR', 'USD', 'GBP'] },
        lines: {
          type: 'array',
          maxItems: 4,
          items: { type: 'object', properties: { sku: { type: 'string', maxLength: 8 }, qty: { type: 'integer', minimum: 1, maximum: 99 } }, required: ['sku', 'qty'] },
        },
      },
      required: ['id', 'customer', 'paid', 'currency', 'lines'],
    }),
  },
  'json_object (free strings)': { type: 'json_schema', schema: '{"type":"object"}' },
};

const modelDir = flags.model;
const manifest = readModelManifest(modelDir);
const tokenizer = await loadTokenizer(modelDir);
const compiler = new GrammarCompiler(() => ({
  entries: tokenizer.vocabularyEntries(),
  vocabType: tokenizer.byteLevel ? 'byte_level' : 'raw',
  logitsWidth,
  stopTokenIds: manifest.eosTokenIds,
}));
const stopTokens = new Set(manifest.eosTokenIds);
const random = RandomStream.fromSeed(1);
const row = new Float32Array(logitsWidth);

/** A token the mask allows, uniformly, preferring one that does not end the value. */
function pickAllowed(mask: Int32Array): number {
  const allowed: number[] = [];
  for (let id = 0; id < logitsWidth; id++) if ((mask[id >> 5] >>> (id & 31)) & 1 && !stopTokens.has(id)) allowed.push(id);
  if (allowed.length === 0) return -1;
  return allowed[Math.floor(random.nextDouble() * allowed.length)];
}

interface Result {
  workload: string;
  firstCompileMs: number;
  cachedCompileMs: number;
  stepMasksMedianMs: number;
  stepMasksP90Ms: number;
  shareOfStep: number;
  restarts: number;
}

const results: Result[] = [];
for (const [workload, spec] of Object.entries(WORKLOADS)) {
  let started = performance.now();
  let constraints: TokenConstraint[] = await compiler.constraints(spec, rows);
  const firstCompileMs = performance.now() - started;
  started = performance.now();
  for (const c of await compiler.constraints(spec, rows)) c.release();
  const cachedCompileMs = performance.now() - started;
  const stepTimes: number[] = [];
  let restarts = 0;
  for (let step = 0; step < steps; step++) {
    let maskMs = 0;
    for (let r = 0; r < rows; r++) {
      const t0 = performance.now();
      const mask = await constraints[r].allowedTokens();
      applyTokenMask(row, mask);
      maskMs += performance.now() - t0;
      const token = pickAllowed(mask);
      if (token < 0) {
        // The value is complete (only end-of-sequence is left): start a new one, like a new request.
        constraints[r].release();
        constraints[r] = (await compiler.constraints(spec, 1))[0];
        restarts++;
      } else {
        constraints[r].accept(token);
      }
    }
    stepTimes.push(maskMs);
  }
  for (const c of constraints) c.release();
  constraints = [];
  stepTimes.sort((a, b) => a - b);
  const median = stepTimes[Math.floor(stepTimes.length / 2)];
  results.push({
    workload,
    firstCompileMs,
    cachedCompileMs,
    stepMasksMedianMs: median,
    stepMasksP90Ms: stepTimes[Math.floor(stepTimes.length * 0.9)],
    shareOfStep: median / stepMs,
    restarts,
  });
}

const machine = describeMachine();
console.log(`${machine.cpuModel}, ${machine.cores} cores, ${machine.simdFlags.join(' ')}; vocabulary ${tokenizer.vocabSize} entries, logits ${logitsWidth}; ${rows} rows x ${steps} steps`);
console.log(
  markdownTable(
    ['workload', 'first compile ms', 'cached ms', `masks per step, median ms (${rows} rows)`, 'p90 ms', `share of a ${stepMs} ms step`],
    results.map((r) => [
      r.workload,
      r.firstCompileMs.toFixed(0),
      r.cachedCompileMs.toFixed(1),
      r.stepMasksMedianMs.toFixed(2),
      r.stepMasksP90Ms.toFixed(2),
      `${(r.shareOfStep * 100).toFixed(2)}%`,
    ]),
  ),
);
const json = { machine, rows, steps, stepMs, logitsWidth, results };
console.log(JSON.stringify(json));
if (flags.json) writeFileSync(flags.json, `${JSON.stringify(json, null, 2)}\n`);
