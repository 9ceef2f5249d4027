import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildServerOpenApiDocument, serverOpenApiYaml } from '../src/openapi-document.js';
import { ChatCompletionRequest } from '../src/api/schemas/chat.js';
import { openApiValidator } from './helpers/server.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** openapi.yaml is generated from the request schemas; the committed file must match them. */
describe('openapi.yaml', () => {
  it('is up to date with the schemas (regenerate: qwen3-serve openapi)', () => {
    const committed = readFileSync(join(root, 'openapi.yaml'), 'utf8');
    expect(committed, 'openapi.yaml is stale: run `node bin/qwen3-serve.js openapi` (or `npx tsx src/cli.ts openapi`)').toBe(serverOpenApiYaml());
  });

  it('is OpenAPI 3.1 whose every $ref resolves and whose components compile as JSON Schema', () => {
    const document = parse(serverOpenApiYaml()) as ReturnType<typeof buildServerOpenApiDocument>;
    expect(document.openapi).toBe('3.1.0');
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) expect(document.components?.schemas).toHaveProperty(ref);
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ ...document, $id: 'doc' });
    for (const id of Object.keys(document.components!.schemas!)) expect(ajv.getSchema(`doc#/components/schemas/${id}`), id).toBeTypeOf('function');
    for (const path of ['/v1/chat/completions', '/v1/completions', '/v1/responses', '/v1/responses/{id}', '/v1/qwen3/instruct', '/v1/models', '/tokenize', '/detokenize', '/health', '/ready', '/metrics']) {
      expect(document.paths).toHaveProperty(path);
    }
  });

  it('documents the ranges the server enforces (one definition: the zod schemas)', () => {
    const validate = openApiValidator();
    const base = { messages: [{ role: 'user', content: 'hi' }] };
    for (const body of [{ ...base, temperature: 2.5 }, { ...base, top_logprobs: 21 }, { ...base, n: 0 }, { ...base, extra: 1 }, { ...base, repetition_penalty: 0 }]) {
      expect(ChatCompletionRequest.safeParse(body).success).toBe(false);
      expect(validate('ChatCompletionRequest', body).length).toBeGreaterThan(0);
    }
    for (const body of [base, { ...base, temperature: 2, top_p: 1, top_k: -1, min_p: 0, seed: -5, logit_bias: { '42': -100 }, stop: ['x'] }]) {
      expect(ChatCompletionRequest.safeParse(body).success).toBe(true);
      expect(validate('ChatCompletionRequest', body)).toEqual([]);
    }
  });
});
