import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createApp } from '../src/api/app.js';
import { ServingState } from '../src/api/serving-state.js';
import { serveCommand } from '../src/commands/serve.js';
import { startServer, type ServerHandle } from '../src/server.js';
import { tinyModelDir } from './helpers/models.js';
import { freePort } from './helpers/prometheus.js';

/**
 * Docker cannot run here, so the image and compose files are checked by reading them: the
 * Dockerfile's final stage runs as a non-root user, its HEALTHCHECK command is run for real
 * against a server (ready, loading, absent), and the compose stack gives the data directory, the
 * Hugging Face cache and PostgreSQL their volumes and wiring. No image is built.
 */

const DEPLOY = fileURLToPath(new URL('../deploy/', import.meta.url));

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions in order: comments dropped, `\` continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return logical
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/** `ENV A=1 B=2` pairs (values without spaces, as ours are). */
function envOf(instructions: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of instructions.filter((i) => i.keyword === 'ENV')) {
    for (const pair of args.split(/\s+/)) {
      const [key, value] = pair.split('=');
      env[key] = value;
    }
  }
  return env;
}

const dockerfile = parseDockerfile(readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8'));
const lastFrom = dockerfile.map((i) => i.keyword).lastIndexOf('FROM');
const finalStage = dockerfile.slice(lastFrom);
const healthcheck = finalStage.find((i) => i.keyword === 'HEALTHCHECK')!;
const healthcheckCommand = JSON.parse(healthcheck.args.slice(healthcheck.args.indexOf('CMD ') + 4)) as string[];

type Service = { environment?: string[] | Record<string, string>; volumes?: string[]; depends_on?: unknown; healthcheck?: { test: string[] }; image?: string; build?: { args?: Record<string, string> }; deploy?: any };
const compose = parse(readFileSync(join(DEPLOY, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const gpuOverride = parse(readFileSync(join(DEPLOY, 'docker-compose.gpu.yml'), 'utf8')) as { services: Record<string, Service> };

function environment(service: Service): Record<string, string | undefined> {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(env.map((entry) => (entry.includes('=') ? [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)] : [entry, undefined])));
}

/** The server's volume mounts as container path -> volume name (named volumes only). */
function namedMounts(service: Service): Map<string, string> {
  return new Map(
    (service.volumes ?? [])
      .map((v) => v.split(':'))
      .filter(([source]) => !source.startsWith('.') && !source.startsWith('/'))
      .map(([source, target]) => [target, source]),
  );
}

describe('deploy/Dockerfile', () => {
  it('runs the server as a non-root user, by number', () => {
    const user = finalStage.filter((i) => i.keyword === 'USER').at(-1);
    expect(user, 'the final stage sets USER').toBeDefined();
    const [uid, gid] = user!.args.split(':').map(Number);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
    // USER comes before the entrypoint runs and after the last RUN that needs root.
    const order = finalStage.map((i) => i.keyword);
    expect(order.lastIndexOf('RUN')).toBeLessThan(order.indexOf('USER'));
  });

  it('makes the data directory and the caches, owned by that user, where the image says they are', () => {
    const env = envOf(finalStage);
    expect(env.QWEN3_SERVE_DATA_DIR).toBe('/data');
    const chown = finalStage.find((i) => i.keyword === 'RUN' && i.args.includes('chown'))!;
    const user = finalStage.find((i) => i.keyword === 'USER')!.args;
    expect(chown.args).toContain(`chown -R ${user}`);
    for (const dir of [env.QWEN3_SERVE_DATA_DIR, env.HF_HOME, `${env.XDG_CACHE_HOME}/qwen3-serve`]) expect(chown.args, dir).toContain(dir);
    // QWEN3_SERVE_DATA_DIR is serve's --data-dir.
    expect(serveCommand().options.find((o) => o.long === '--data-dir')!.envVar).toBe('QWEN3_SERVE_DATA_DIR');
  });

  it('has a CPU default and a GPU variant by build arguments', () => {
    const args = dockerfile.filter((i) => i.keyword === 'ARG').map((i) => i.args);
    expect(args).toContain('RUNTIME_IMAGE=node:20-bookworm-slim');
    expect(args).toContain('ONNXRUNTIME_NODE_INSTALL');
    expect(dockerfile[lastFrom].args).toBe('${RUNTIME_IMAGE}');
    const server = gpuOverride.services.server;
    expect(server.build!.args).toMatchObject({ ONNXRUNTIME_NODE_INSTALL: 'cuda12' });
    expect(server.build!.args!.RUNTIME_IMAGE).toMatch(/^\$\{QWEN3_SERVE_CUDA_IMAGE:\?/);
    expect(environment(server).QWEN3_SERVE_DEVICE).toBe('cuda');
    expect(serveCommand().options.find((o) => o.envVar === 'QWEN3_SERVE_DEVICE')!.argChoices).toContain('cuda');
    expect(server.deploy.resources.reservations.devices[0]).toMatchObject({ driver: 'nvidia', capabilities: ['gpu'] });
  });

  describe('HEALTHCHECK, run as Docker runs it', () => {
    let ready: ServerHandle;
    let loading: ServerType;
    let loadingPort: number;

    beforeAll(async () => {
      ready = await startServer({ engine: { modelDir: tinyModelDir('int4'), maxSeqs: 1 }, port: 0, logger: pino({ level: 'silent' }), observer: { httpRequest() {}, errorAnswered() {} } });
      await ready.ready;
      // The app of a server still loading its model: /ready answers 503.
      const app = createApp({ state: new ServingState(), logger: pino({ level: 'silent' }) });
      loading = await new Promise<ServerType>((resolve) => {
        const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
      });
      loadingPort = (loading.address() as AddressInfo).port;
    });
    afterAll(async () => {
      await ready?.close();
      await new Promise<void>((resolve) => (loading ? loading.close(() => resolve()) : resolve()));
    });

    /** The command's exit code. Run asynchronously: the servers it probes live in this process. */
    const check = (port: number) =>
      new Promise<number | null>((resolve) => {
        const [command, ...args] = healthcheckCommand;
        // The image's `node` is this node; QWEN3_SERVE_PORT as the image's ENV sets it.
        const child = spawn(command === 'node' ? process.execPath : command, args, { env: { ...process.env, QWEN3_SERVE_PORT: String(port) }, stdio: 'ignore', timeout: 10_000 });
        child.once('exit', (code) => resolve(code));
      });

    it('probes /ready with an allowance for the model load', () => {
      expect(healthcheckCommand[0]).toBe('node');
      expect(healthcheckCommand.join(' ')).toContain('/ready');
      expect(healthcheck.args).toMatch(/--start-period=(\d+)m/);
      expect(Number(/--start-period=(\d+)m/.exec(healthcheck.args)![1])).toBeGreaterThanOrEqual(5);
    });

    it('exits 0 against a ready server, 1 while loading, 1 with nothing listening', async () => {
      expect(await check(ready.address.port)).toBe(0);
      expect(await check(loadingPort)).toBe(1);
      expect(await check(await freePort())).toBe(1);
    });
  });
});

describe('deploy/docker-compose.yml', () => {
  const server = compose.services.server;

  it('mounts volumes for the data directory and the Hugging Face cache where the image puts them', () => {
    const env = envOf(finalStage);
    const mounts = namedMounts(server);
    const serverEnv = environment(server);
    expect(serverEnv.QWEN3_SERVE_DATA_DIR).toBe(env.QWEN3_SERVE_DATA_DIR);
    for (const path of [env.QWEN3_SERVE_DATA_DIR, env.HF_HOME, `${env.XDG_CACHE_HOME}/qwen3-serve`]) {
      const volume = mounts.get(path);
      expect(volume, `a named volume at ${path}`).toBeDefined();
      expect(compose.volumes).toHaveProperty(volume!);
    }
  });

  it('runs PostgreSQL for the batch store, and the server waits for it and connects with its credentials', () => {
    const postgres = compose.services.postgres;
    expect(postgres.image).toMatch(/^postgres:\d+/);
    const pgEnv = environment(postgres);
    const url = new URL(environment(server).QWEN3_SERVE_DATABASE_URL!);
    expect(url.protocol).toBe('postgres:');
    expect(url.hostname).toBe('postgres');
    expect(url.port).toBe('5432');
    expect(decodeURIComponent(url.username)).toBe(pgEnv.POSTGRES_USER);
    expect(decodeURIComponent(url.password)).toBe(pgEnv.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${pgEnv.POSTGRES_DB}`);
    expect(postgres.healthcheck!.test).toEqual(['CMD', 'pg_isready', '-U', pgEnv.POSTGRES_USER, '-d', pgEnv.POSTGRES_DB]);
    expect(server.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    const data = namedMounts(postgres).get('/var/lib/postgresql/data');
    expect(compose.volumes).toHaveProperty(data!);
  });
});
