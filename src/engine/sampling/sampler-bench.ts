/**
 * Micro-benchmark of the sampler on vocabulary-sized rows, run by hand:
 *
 *   npx tsx src/engine/sampling/sampler-bench.ts [rowsPerCase]
 *
 * Prints microseconds per row for each logits shape x setting: the best of 5 rounds' means (the
 * machine is shared, and the minimum is the least disturbed figure) and the 95th percentile over
 * all rows. A bare max-of-row pass is printed first as the yardstick of one vocabulary pass. Shapes:
 * `confident` and `uncertain` imitate a trained model (a normal bulk around 0 with a few tokens
 * well above it; in `uncertain` the top is close enough that most of the vocabulary is within 30
 * nats of it), `flat` imitates a random-weights model (every token about as likely).
 */
import { loadavg } from 'node:os';
import { RandomStream } from '../../random/random-stream.js';
import { maxLogit } from './row-scan.js';
import { Sampler } from './sampler.js';
import { DEFAULT_SAMPLING_PARAMS, type SamplingParams } from './sampling-params.js';

const VOCAB = 151936;
const BATCH = 16;

function normal(random: RandomStream): number {
  const u = 1 - random.nextDouble();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
}

function makeRows(shape: 'confident' | 'uncertain' | 'flat', random: RandomStream): Float32Array[] {
  return Array.from({ length: BATCH }, () => {
    const row = new Float32Array(VOCAB);
    const spread = shape === 'flat' ? 0.5 : 2.5;
    for (let i = 0; i < VOCAB; i++) row[i] = spread * normal(random);
    if (shape !== 'flat') {
      const top = shape === 'confident' ? 28 : 13;
      for (let j = 0; j < 40; j++) row[Math.floor(random.nextDouble() * VOCAB)] = top - j * 0.4 * random.nextDouble() * 4;
    }
    return row;
  });
}

const SETTINGS: Record<string, Partial<SamplingParams>> = {
  greedy: { temperature: 0 },
  'T=1': { temperature: 1 },
  'T=0.7 top_p=0.9': { temperature: 0.7, topP: 0.9 },
  'top_k=50': { temperature: 1, topK: 50 },
  'qwen3 (T=0.6 top_k=20 top_p=0.95)': { temperature: 0.6, topK: 20, topP: 0.95 },
  'min_p=0.05': { temperature: 1, minP: 0.05 },
  'greedy + logprobs top 5': { temperature: 0, logprobs: true, topLogprobs: 5 },
  // The generated-token counts grow over the run, so the penalties flatten the distribution.
  'T=0.7 top_p=0.9 + penalties, 1k prompt': {
    temperature: 0.7,
    topP: 0.9,
    repetitionPenalty: 1.1,
    frequencyPenalty: 0.5,
    presencePenalty: 0.5,
  },
};

const ROUNDS = 5;

function timeRounds(count: number, run: (i: number) => void): { best: number; p95: number } {
  const times: number[] = [];
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    let sum = 0;
    for (let i = 0; i < count / ROUNDS; i++) {
      const start = process.hrtime.bigint();
      run(i);
      const us = Number(process.hrtime.bigint() - start) / 1000;
      times.push(us);
      sum += us;
    }
    best = Math.min(best, sum / (count / ROUNDS));
  }
  times.sort((a, b) => a - b);
  return { best, p95: times[Math.floor(times.length * 0.95)] };
}

function measure(rows: Float32Array[], setting: Partial<SamplingParams>, count: number): { best: number; p95: number } {
  const params: SamplingParams = { ...DEFAULT_SAMPLING_PARAMS, seed: 1, ...setting };
  const prompt = Array.from({ length: 1000 }, (_, i) => (i * 7919) % VOCAB);
  const sampler = new Sampler({ params, promptTokenIds: prompt, eosTokenIds: [151645] });
  for (let i = 0; i < 50; i++) sampler.sample(rows[i % rows.length]); // warm-up (JIT)
  return timeRounds(count, (i) => sampler.sample(rows[i % rows.length]));
}

function line(name: string, { best, p95 }: { best: number; p95: number }): string {
  return `  ${name.padEnd(42)} best-round mean ${best.toFixed(0).padStart(5)}   p95 ${p95.toFixed(0).padStart(5)}`;
}

const count = Number(process.argv[2] ?? 500);
const random = RandomStream.fromSeed(2024);
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const shape of ['confident', 'uncertain', 'flat'] as const) {
  const rows = makeRows(shape, random);
  console.log(`\n${shape} logits (vocab ${VOCAB}), microseconds per row:`);
  for (let i = 0; i < 50; i++) maxLogit(rows[i % rows.length]);
  console.log(line('(yardstick: one max-of-row pass)', timeRounds(count, (i) => maxLogit(rows[i % rows.length]))));
  for (const [name, setting] of Object.entries(SETTINGS)) console.log(line(name, measure(rows, setting, count)));
}
