import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { pino, type Logger } from 'pino';
import { ServerMetrics } from '../exporter/index.js';
import { createApp, DEFAULT_MAX_BODY_BYTES } from './api/app.js';
import type { HttpObserver, MetricsRenderer } from './api/observability.js';
import { BatchService } from './batch/batch-service.js';
import { batchRoutes } from './batch/http/batch-routes.js';
import { ResponseStore } from './api/responses/response-store.js';
import { ServingState } from './api/serving-state.js';
import { DEFAULT_MAX_SEQS } from './engine/engine-config.js';
import type { EngineClient } from './engine/worker/engine-client.js';
import { loadModel, servedModelName, type ServedModelConfig } from './load-model.js';
import { SERVER_OPENAPI_PATHS } from './openapi-document.js';
import { uiRoutes } from './ui/ui-routes.js';

/**
 * Everything `qwen3-serve serve` configures; tests start servers with the same object. The model
 * and its engine (ServedModelConfig: `engine`, which holds the scheduler's tunables in turn) are
 * nested as they are declared, and handed down untouched.
 */
export interface ServerConfig extends ServedModelConfig {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 picks a free port (read it from the handle). */
  port?: number;
  apiKey?: string;
  maxBodyBytes?: number;
  /** How long drain() lets in-flight requests finish before cutting them off. Default 30 s. */
  drainTimeoutSeconds?: number;
  /**
   * The longest a generation request may live, queue wait and generation together; past it the
   * request is cancelled (its KV row freed) and answered 504 request_timeout. Default 1800 s; 0: no limit.
   */
  requestTimeoutSeconds?: number;
  /** Longest a client may take to send a request's headers; Node answers 408 past it. Default 20 s. */
  headersTimeoutSeconds?: number;
  /** Longest a request body may pause while it arrives; answered 408 past it. Default 30 s; 0: no limit. */
  bodyTimeoutSeconds?: number;
  logPrompts?: boolean;
  /** Origins browsers may call the API from (`*`: any); default none (no CORS headers). */
  corsOrigins?: readonly string[];
  /** Default: pino JSON lines on stdout. */
  logger?: Logger;
  /**
   * exporter/'s hooks: HTTP metrics, the /metrics text, and the engine once loaded (step reports).
   * Default (neither given): the server's own ServerMetrics, GPU polling included.
   */
  observer?: HttpObserver;
  metrics?: MetricsRenderer;
  onEngineReady?: (engine: EngineClient) => void;
  /**
   * Where the Files and Batch API keep their SQLite database and files (`serve --data-dir`,
   * default ./data there), and the Responses API its stored responses. Unset: no /v1/files or
   * /v1/batches routes, and stored responses live in memory.
   */
  dataDir?: string;
  /**
   * A PostgreSQL URL (`serve --database`): Files and Batches live there instead of in the data
   * directory's SQLite, shared by every replica given the same URL.
   */
  database?: string;
  /** How long a batch line claimed by this server stays its own without renewal (default 30 s). */
  batchLeaseSeconds?: number;
  /** Largest file upload, in bytes. Default 200 MiB. */
  maxFileBytes?: number;
  /** Most requests in one batch file. Default 50,000. */
  maxBatchLines?: number;
  /**
   * Batch lines in flight at once. Default maxSeqs: enough to keep every KV row busy; the
   * engine's admission limit is raised by this much, so interactive requests are never refused
   * (429) for room a batch holds.
   */
  batchConcurrency?: number;
  /**
   * The chat web UI at / (its conversations in `dataDir`'s ui.sqlite, or in memory without one).
   * Default off here; `serve` turns it on unless --no-ui.
   */
  ui?: boolean;
  /** The built page's folder (tests build their own); default the package's dist/ui. */
  uiAssetsDir?: string;
}

export interface ServerHandle {
  /** `http://host:port` as bound. */
  readonly url: string;
  readonly address: { host: string; port: number };
  readonly state: ServingState;
  /** The engine once loaded (null while loading or after a failed load). */
  readonly engine: EngineClient | null;
  /** Settles when the model is loaded (rejects with the load error; the server keeps answering 503). */
  readonly ready: Promise<void>;
  /** SIGTERM's behaviour: stop accepting work, let in-flight requests finish (up to the timeout), close. */
  drain(timeoutSeconds?: number): Promise<void>;
  /** Cuts everything off now. */
  close(): Promise<void>;
}

export const DEFAULT_PORT = 8080;
export const DEFAULT_DRAIN_TIMEOUT_SECONDS = 30;
/**
 * A backstop, not a latency goal: a request that has been alive 30 minutes is stuck or abandoned
 * behind a connection that stays open (a departed client is cancelled at once anyway). It must not
 * cut real work short: on a loaded 2-core CPU the 4B model's first token alone took up to 453 s,
 * queue included (BENCHMARKS.md: p99 TTFT at 8 clients with --max-seqs 1), so OpenAI's own 600 s
 * client timeout would be too tight as a server default.
 */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 1800;
/**
 * Node's default (60 s) lets a client that never finishes its headers hold a socket for a minute;
 * a real client sends them in one packet.
 */
export const DEFAULT_HEADERS_TIMEOUT_SECONDS = 20;
/**
 * How often Node looks for connections past the headers timeout. Its default (30 s) would let a
 * 20 s timeout fire after up to 50 s; the check walks only the connections with a request pending.
 */
const CONNECTIONS_CHECK_INTERVAL_MS = 1000;
/** EngineClient's default admission queue (requests waiting beyond those running), per KV row. */
const DEFAULT_WAITING_PER_SEQ = 4;
/** After the engine has drained, responses get this long to flush before connections are cut. */
const RESPONSE_FLUSH_GRACE_MS = 2000;

/**
 * The composition root: listens at once (so /health answers and /ready says "loading"), loads
 * the model in the background (engine worker + the main thread's tokenizer), and turns ready
 * when both are up.
 */
export async function startServer(config: ServerConfig): Promise<ServerHandle> {
  const logger = config.logger ?? pino({ name: 'qwen3-serve' });
  const state = new ServingState();
  // Prometheus metrics unless the caller brings its own hooks (tests do).
  const ownMetrics = config.observer || config.metrics ? null : new ServerMetrics({ modelName: servedModelName(config), logger });
  void ownMetrics?.start();
  const batches =
    config.dataDir === undefined
      ? null
      : new BatchService({
          dataDir: config.dataDir,
          maxFileBytes: config.maxFileBytes,
          maxLines: config.maxBatchLines,
          maxBodyBytes: config.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
          modelName: servedModelName(config),
          concurrency: batchConcurrency(config),
          database: config.database,
          leaseMs: config.batchLeaseSeconds === undefined ? undefined : config.batchLeaseSeconds * 1000,
          apiKey: config.apiKey,
          logger,
        });
  // A locked data directory or an unreachable (or newer) PostgreSQL database fails the start.
  try {
    await batches?.open();
  } catch (err) {
    ownMetrics?.close();
    throw err;
  }
  if (batches) ownMetrics?.attachBatchBacklog(() => batches.backlog());
  const ui = config.ui ? uiRoutes({ dataDir: config.dataDir, apiKey: config.apiKey, assetsDir: config.uiAssetsDir }) : null;
  // The Responses API's stored responses: in the data directory when there is one, else in memory.
  const responseStore = new ResponseStore(config.dataDir);
  const app = createApp({
    state,
    responseStore,
    logger,
    apiKey: config.apiKey,
    maxBodyBytes: config.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    logPrompts: config.logPrompts,
    corsOrigins: config.corsOrigins,
    requestTimeoutSeconds: config.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS,
    bodyTimeoutSeconds: config.bodyTimeoutSeconds,
    observer: config.observer ?? ownMetrics ?? undefined,
    metrics: config.metrics ?? ownMetrics ?? undefined,
    features: [...(batches ? [batchRoutes(batches.jobs)] : []), ...(ui ? [ui] : [])],
    openApiPaths: SERVER_OPENAPI_PATHS,
  });
  const server = await listen(app.fetch, config.host ?? '127.0.0.1', config.port ?? DEFAULT_PORT, (config.headersTimeoutSeconds ?? DEFAULT_HEADERS_TIMEOUT_SECONDS) * 1000);
  const { address: host, port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url, model: config.engine.modelDir }, 'listening; loading the model');

  let engine: EngineClient | null = null;
  const ready = loadModel(config, batches ? batchConcurrency(config) : 0).then(
    (loaded) => {
      engine = loaded.engine;
      state.markReady(loaded.served);
      ownMetrics?.attachEngine(loaded.engine);
      config.onEngineReady?.(loaded.engine);
      batches?.start(app);
      const info = loaded.engine.info;
      logger.info(
        {
          model: loaded.served.name,
          device: info.device,
          maxSeqs: info.maxSeqs,
          contextLimit: info.contextLimit,
          loadSeconds: Number(info.loadSeconds.toFixed(2)),
          // What decides the speed paths: onnxruntime picks its CPU kernels from the ISA, and the
          // graph's KV outputs decide whether a step reads the cache in place or copies it.
          cpu: `${info.cpu.model}, ${info.cpu.cores} cores (${info.cpu.physicalCores} physical), ${info.cpu.isa} (${info.cpu.simdFlags.join(' ') || 'no SIMD flags'})`,
          threads: info.threads,
          spinning: info.spinning,
          kvOutputs: info.kvOutputs,
          kvCache: info.kvCache,
          prefillGraph: info.prefillGraph,
        },
        'model loaded; ready',
      );
    },
    (err: Error) => {
      state.markFailed(err.message);
      logger.error({ err: err.message }, 'the model failed to load');
      throw err;
    },
  );
  // Callers may never await `ready` (the CLI watches the state); a failed load must not crash.
  ready.catch(() => {});

  let stopped: Promise<void> | null = null;
  const stop = (timeoutSeconds: number) => {
    stopped ??= (async () => {
      state.markDraining();
      // Batch lines stop now; those running finish within the engine's drain or stay pending.
      const batchesStopped = batches?.stop();
      const deadline = Date.now() + timeoutSeconds * 1000;
      await ready.catch(() => {});
      if (engine) await engine.drain(Math.max(0, deadline - Date.now()));
      await batchesStopped;
      await state.model?.prompts.close();
      await closeHttp(server, timeoutSeconds > 0 ? RESPONSE_FLUSH_GRACE_MS : 0);
      // After the last response went out: a stream finishing in the grace period still stores its response.
      responseStore.close();
      ownMetrics?.close();
      ui?.close();
      logger.info('stopped');
    })();
    return stopped;
  };

  return {
    url,
    address: { host, port },
    state,
    get engine() {
      return engine;
    },
    ready,
    drain: (timeoutSeconds = config.drainTimeoutSeconds ?? DEFAULT_DRAIN_TIMEOUT_SECONDS) => stop(timeoutSeconds),
    close: () => stop(0),
  };
}

function listen(fetch: (request: Request) => Response | Promise<Response>, hostname: string, port: number, headersTimeoutMs: number): Promise<ServerType> {
  return new Promise((resolveListening, reject) => {
    // Node's requestTimeout (300 s for the whole request) stays as the outer bound; the body's
    // own idle timeout (bodyTimeout in the app) ends a stalled upload long before it.
    const serverOptions = { headersTimeout: headersTimeoutMs, connectionsCheckingInterval: CONNECTIONS_CHECK_INTERVAL_MS };
    const server = serve({ fetch, hostname, port, serverOptions }, () => resolveListening(server));
    server.once('error', reject);
  });
}

/** Stops accepting connections, lets open responses finish for up to `graceMs`, then cuts the rest. */
async function closeHttp(server: ServerType, graceMs: number): Promise<void> {
  const http = server as import('node:http').Server;
  const closed = new Promise<void>((done) => http.close(() => done()));
  http.closeIdleConnections();
  const timer = setTimeout(() => http.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
}

/** Batch lines in flight at once: --batch-concurrency, default one per KV row. */
function batchConcurrency(config: ServerConfig): number {
  return config.batchConcurrency ?? config.engine.maxSeqs ?? DEFAULT_MAX_SEQS;
}
