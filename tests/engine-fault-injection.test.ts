import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepReport } from '../src/engine/step-report.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** The served name of the tiny test model (its folder's name). */
const MODEL = 'int4';
/** A token id the failing runner throws on; the tiny model is fed it only in the poisoned prompt. */
const POISON = 151_000;

/**
 * A forward pass that throws, injected into the real engine worker (EngineConfig.runnerDecorator,
 * tests/helpers/failing-runner.ts): the requests with work in that step fail with a 500 envelope
 * (a stream already started ends with the error event), requests outside it go on, the server
 * stays ready, and every KV row and token comes back.
 */
describe('a forward pass that fails mid-serving', () => {
  let server: TestServer;
  let client: OpenAI;
  const reports: StepReport[] = [];

  beforeAll(async () => {
    server = await startTestServer({
      engine: {
        maxSeqs: 2,
        runnerDecorator: { module: new URL('./helpers/failing-runner.ts', import.meta.url).href, options: { poisonTokenId: POISON } },
      },
    });
    client = server.openai();
    server.handle.engine!.onStep((report) => reports.push(report));
  });
  afterAll(async () => {
    await server?.handle.close();
  });

  it('fails the requests of the failing step with model_error; the queued one and later ones are served', async () => {
    // D streams; E's prompt poisons the step that prefills it (beside D's decode); F waits for a
    // row (max-seqs 2) and so is not in that step.
    const streamD = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Tell me a long story.' }],
      max_tokens: 400,
      temperature: 0,
      ignore_eos: true,
      stream: true,
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    const iterator = streamD[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);

    const requestE = client.completions.create({ model: MODEL, prompt: [1000, 2000, POISON] as unknown as string, max_tokens: 5 }).then(
      () => null,
      (err: unknown) => err,
    );
    await new Promise((r) => setTimeout(r, 20));
    const requestF = client.completions.create({ model: MODEL, prompt: 'A queued request', max_tokens: 4, temperature: 0, ignore_eos: true } as OpenAI.CompletionCreateParamsNonStreaming);

    const errorE = await requestE;
    expect(errorE).toBeInstanceOf(OpenAI.InternalServerError);
    expect(errorE).toMatchObject({ status: 500, type: 'server_error', code: 'model_error' });
    expect((errorE as Error).message).toContain('injected fault');

    // D was in the failing step: its stream ends with the error event, which the SDK throws.
    const streamError = await (async () => {
      for (;;) {
        const next = await iterator.next();
        if (next.done) return null;
      }
    })().catch((err: unknown) => err);
    expect(streamError).toBeInstanceOf(OpenAI.APIError);
    expect((streamError as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ type: 'server_error', code: 'model_error' });

    const completionF = await requestF;
    expect(completionF.usage?.completion_tokens).toBe(4);
    expect(completionF.choices[0].finish_reason).toBe('length');
  });

  it('stays ready, keeps serving, and every KV row and token comes back', async () => {
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    const results = await Promise.all(
      [1, 2, 3].map((i) => client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: `Hello ${i}` }], max_tokens: 3, temperature: 0, ignore_eos: true } as OpenAI.ChatCompletionCreateParamsNonStreaming)),
    );
    for (const result of results) expect(result.usage?.completion_tokens).toBe(3);
    expect(server.handle.engine!.inFlight).toBe(0);
    const last = reports.at(-1)!;
    expect(last.scheduler).toMatchObject({ numRunning: 0, numWaiting: 0, kvTokensInUse: 0, kvTokensReserved: 0 });
    const failed = server.logs.filter((line) => line.msg === 'request' && line.status === 500);
    expect(failed).toHaveLength(1);
    expect(failed[0].error).toMatchObject({ type: 'server_error', code: 'model_error' });
    // An injected fault is a failure the server reports, not a crash: no error-level lines.
    expect(server.logs.filter((line) => (line.level as number) >= 50)).toEqual([]);
  });
});
