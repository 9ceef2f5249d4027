/**
 * Micro-benchmark of the sampler on vocabulary-sized rows, run by hand:
 *
 *   npx tsx src/engine/sampling/sampler-bench.ts [rowsPerCase]
 *
 * Prints mean and 95th-percentile microseconds per row for each logits shape x setting. Shapes:
 * `confident` and `uncertain` imitate a trained model (a normal bulk around 0 with a few tokens
 * well above it; in `uncertain` the top is close enough that most of the vocabulary is within 30
 * nats of it), `flat` imitates a random-weights model (every token about as likely).
 */
import { RandomStream } from './prng.js';
import { Sampler } from './sampler.js';
import { parseSamplingParams, type SamplingFields } from './sampling-params.js';

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

const SETTINGS: Record<string, SamplingFields> = {
  greedy: { temperature: 0 },
  'T=1': { temperature: 1 },
  'T=0.7 top_p=0.9': { temperature: 0.7, top_p: 0.9 },
  'top_k=50': { temperature: 1, top_k: 50 },
  'qwen3 (T=0.6 top_k=20 top_p=0.95)': { temperature: 0.6, top_k: 20, top_p: 0.95 },
  'min_p=0.05': { temperature: 1, min_p: 0.05 },
  'greedy + logprobs top 5': { temperature: 0, logprobs: true, top_logprobs: 5 },
  'T=0.7 top_p=0.9 + penalties (1k prompt)': {
    temperature: 0.7,
    top_p: 0.9,
    repetition_penalty: 1.1,
    frequency_penalty: 0.5,
    presence_penalty: 0.5,
  },
};

function measure(rows: Float32Array[], fields: SamplingFields, count: number): { mean: number; p95: number } {
  const params = parseSamplingParams({ seed: 1, ...fields }, { vocabSize: VOCAB });
  const prompt = Array.from({ length: 1000 }, (_, i) => (i * 7919) % VOCAB);
  const sampler = new Sampler({ params, promptTokenIds: prompt, eosTokenIds: [151645] });
  for (let i = 0; i < 50; i++) sampler.sample(rows[i % rows.length]); // warm-up (JIT)
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const row = rows[i % rows.length];
    const start = process.hrtime.bigint();
    sampler.sample(row);
    times.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  times.sort((a, b) => a - b);
  return { mean: times.reduce((a, b) => a + b, 0) / count, p95: times[Math.floor(count * 0.95)] };
}

const count = Number(process.argv[2] ?? 400);
const random = RandomStream.fromSeed(2024);
for (const shape of ['confident', 'uncertain', 'flat'] as const) {
  const rows = makeRows(shape, random);
  console.log(`\n${shape} logits (vocab ${VOCAB}), microseconds per row:`);
  for (const [name, fields] of Object.entries(SETTINGS)) {
    const { mean, p95 } = measure(rows, fields, count);
    console.log(`  ${name.padEnd(42)} mean ${mean.toFixed(0).padStart(5)}   p95 ${p95.toFixed(0).padStart(5)}`);
  }
}
