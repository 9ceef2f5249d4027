import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadModel, type DownloadProgress } from '../src/convert/hub/download-model.js';
import { parseHubModelRef } from '../src/convert/hub/model-ref.js';
import { readModelManifest } from '../src/model/model-manifest.js';
import { OnnxRunner } from '../src/model/runner/onnx-runner.js';
import { loadTokenizer } from '../src/model/tokenizer/load-tokenizer.js';
import { FakeHub } from './helpers/fake-hub.js';
import { spawnServe, waitReady } from './helpers/serve-process.js';
import { tinyModelDir } from './helpers/models.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const SUBFOLDER = 'onnxruntime/cpu_and_mobile/cpu-int4-block-32';

describe('downloading a model folder from a hub (a local fake of the Hugging Face API)', () => {
  let work: string;
  let hub: FakeHub;

  beforeAll(async () => {
    // The layout of onnx-community/Qwen3-4B-ONNX: the genai folder deep inside, the tokenizer at the root.
    work = mkdtempSync(join(tmpdir(), 'qwen3-hub-'));
    const repoRoot = join(work, 'repo');
    const folder = join(repoRoot, SUBFOLDER);
    mkdirSync(folder, { recursive: true });
    const source = tinyModelDir('int4');
    for (const name of ['genai_config.json', 'model.onnx', 'config.json', 'generation_config.json']) cpSync(join(source, name), join(folder, name));
    for (const name of ['tokenizer.json', 'tokenizer_config.json']) cpSync(join(source, name), join(repoRoot, name));
    mkdirSync(join(repoRoot, 'docs'));
    writeFileSync(join(repoRoot, 'docs', 'README.md'), 'not a model\n');
    hub = await FakeHub.start('test-org/tiny-qwen3', repoRoot);
  });
  afterAll(async () => {
    await hub?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('parses hub references and leaves local paths alone', () => {
    expect(parseHubModelRef(`onnx-community/Qwen3-4B-ONNX/${SUBFOLDER}@v1`)).toEqual({
      repo: 'onnx-community/Qwen3-4B-ONNX',
      subfolder: SUBFOLDER,
      revision: 'v1',
    });
    expect(parseHubModelRef('Qwen/Qwen3-4B')).toEqual({ repo: 'Qwen/Qwen3-4B', subfolder: '', revision: 'main' });
    expect(parseHubModelRef(tinyModelDir('int4'))).toBeNull();
    expect(parseHubModelRef('not a ref')).toBeNull();
  });

  it('downloads the folder into the cache, fills the tokenizer from the root, and the model runs', async () => {
    const cacheDir = join(work, 'cache');
    const seen: string[] = [];
    const dir = await downloadModel(
      { repo: 'test-org/tiny-qwen3', subfolder: SUBFOLDER, revision: 'main' },
      { hubUrl: hub.url, cacheDir, onFile: (path) => seen.push(path) },
    );
    expect(seen).toContain(`${SUBFOLDER}/model.onnx`);
    expect(seen).toContain('tokenizer.json');
    // Buffer.equals: vitest's deep equality walks a multi-megabyte buffer element by element.
    expect(readFileSync(join(dir, 'model.onnx')).equals(readFileSync(join(tinyModelDir('int4'), 'model.onnx')))).toBe(true);

    const manifest = readModelManifest(dir);
    expect(manifest.hasTokenizer).toBe(true);
    const tokenizer = await loadTokenizer(dir);
    expect(tokenizer.encode('hello world').length).toBeGreaterThan(0);
    const runner = await OnnxRunner.open({ onnxPath: manifest.onnxPath, device: 'cpu', maxSeqs: 1, maxLen: 16 });
    const logits = await runner.forward({ firstRow: 0, tokens: [[1, 2, 3]], pastLengths: [0] });
    expect(logits).toHaveLength(manifest.vocabSize ?? 0);
    await runner.close();

    // A second download finds every file in the cache: no file content is fetched again.
    const resolvesBefore = hub.requests.filter((r) => r.includes('/resolve/')).length;
    const again = await downloadModel({ repo: 'test-org/tiny-qwen3', subfolder: SUBFOLDER, revision: 'main' }, { hubUrl: hub.url, cacheDir });
    expect(again).toBe(dir);
    expect(hub.requests.filter((r) => r.includes('/resolve/')).length).toBe(resolvesBefore);
  });

  it('refuses a folder that is not an onnxruntime-genai export, before downloading anything', async () => {
    const before = hub.requests.length;
    await expect(
      downloadModel({ repo: 'test-org/tiny-qwen3', subfolder: 'docs', revision: 'main' }, { hubUrl: hub.url, cacheDir: join(work, 'cache2') }),
    ).rejects.toThrow(/test-org\/tiny-qwen3\/docs@main has no genai_config.json/);
    expect(hub.requests.slice(before).every((r) => r.includes('/tree/'))).toBe(true);
  });

  it("'serve --model owner/name/folder' downloads through HF_ENDPOINT into HF_HUB_CACHE and serves it under that name", async () => {
    const ref = `test-org/tiny-qwen3/${SUBFOLDER}`;
    const server = spawnServe(['--model', ref, '--port', '0'], { HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(work, 'serve-cache') });
    try {
      const url = await server.url;
      await waitReady(server);
      const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] };
      expect(models.data.map((m) => m.id)).toEqual([ref]);
      const reply = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: ref, messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 }),
      });
      expect(reply.status).toBe(200);
      expect(((await reply.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBeGreaterThan(0);
      // The byte progress bar (stderr is a pipe here: cli-progress prints its line instead of redrawing it).
      expect(server.stderr()).toMatch(/downloading .*100% \| ([\d.]+)\/\1 MiB/);
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  });

  it('reports byte progress as bytes arrive, ending at the total of every file, a cached folder included', async () => {
    const cacheDir = join(work, 'progress-cache');
    const ref = { repo: 'test-org/tiny-qwen3', subfolder: SUBFOLDER, revision: 'main' };
    const events: DownloadProgress[] = [];
    const fetched: { path: string; size: number }[] = [];
    await downloadModel(ref, { hubUrl: hub.url, cacheDir, onProgress: (p) => events.push(p), onFile: (path, size) => fetched.push({ path, size }) });
    const total = fetched.reduce((sum, f) => sum + f.size, 0);
    expect(total).toBeGreaterThan(1_000_000);
    expect(events.at(-1)).toMatchObject({ doneBytes: total, totalBytes: total });
    for (let i = 1; i < events.length; i++) expect(events[i].doneBytes).toBeGreaterThanOrEqual(events[i - 1].doneBytes);
    // Progress within a file, not only per file: model.onnx's bytes arrive in many chunks.
    const model = fetched.find((f) => f.path.endsWith('model.onnx'))!;
    const withinModel = events.filter((e) => e.path === model.path).map((e) => e.doneBytes);
    expect(new Set(withinModel).size).toBeGreaterThan(3);

    const again: DownloadProgress[] = [];
    await downloadModel(ref, { hubUrl: hub.url, cacheDir, onProgress: (p) => again.push(p) });
    expect(again.at(-1)).toMatchObject({ doneBytes: total, totalBytes: total });
  });

  it("'download' prints the folder alone on stdout and its byte progress on stderr", async () => {
    const cacheDir = join(work, 'cli-cache');
    // Asynchronously: the fake hub it downloads from is served by this process.
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli.ts'), 'download', `test-org/tiny-qwen3/${SUBFOLDER}`, '--hub-url', hub.url, '--cache-dir', cacheDir], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    const result = { stdout: '', stderr: '', status: null as number | null };
    child.stdout.on('data', (chunk: Buffer) => (result.stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (result.stderr += chunk.toString()));
    result.status = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(result.status, result.stderr).toBe(0);
    // One line, the folder: nothing of the hub client's own chatter.
    expect(result.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    const folder = result.stdout.trim();
    expect(readFileSync(join(folder, 'genai_config.json'), 'utf8')).toContain('model');
    expect(result.stderr).toMatch(/downloading .*100% \| ([\d.]+)\/\1 MiB \| [\d.]+ MiB\/s/);
  });
});
