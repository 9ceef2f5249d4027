import { loadavg } from 'node:os';
import { describeMachine, type MachineInfo } from '../bench/machine-info.js';
import { startServerProcess, type ServerProcessOptions } from '../serve/server-process.js';
import { runCheapRequests, type CheapRequestsOptions, type CheapRequestsResult } from './cheap-requests-scenario.js';
import { runDisconnects, type DisconnectOptions, type DisconnectResult } from './disconnect-scenario.js';
import { runOverload, type OverloadOptions, type OverloadResult } from './overload-scenario.js';

/** The three robustness scenarios' settings, without the URL (the run starts the server). */
export interface HttpLoadOptions {
  server: ServerProcessOptions;
  overload: Omit<OverloadOptions, 'url'>;
  cheap: Omit<CheapRequestsOptions, 'url'>;
  disconnects: Omit<DisconnectOptions, 'url' | 'followUp'>;
  log?: (line: string) => void;
}

export interface HttpLoadResult {
  kind: 'http';
  machine: MachineInfo;
  server: { args: string[]; capacity: number };
  overload: OverloadResult;
  cheap: CheapRequestsResult;
  disconnects: DisconnectResult;
  loadAverage: { start: number[]; end: number[] };
}

/**
 * HTTP load and robustness (issue 7): one `qwen3-serve serve` process on 127.0.0.1, then
 * overload, cheap requests during generation, and mid-stream disconnects, in that order (the
 * disconnect check of "nothing left running" also covers what the earlier scenarios left).
 */
export async function runHttpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  const log = options.log ?? (() => {});
  const start = loadavg();
  const server = await startServerProcess(options.server);
  try {
    log(`server ${server.url} (${server.args.join(' ')})`);
    const overload = await runOverload({ url: server.url, ...options.overload });
    log(`overload: ${overload.admitted} admitted, ${overload.refused} refused (429), ${overload.serverErrors} 5xx`);
    const cheap = await runCheapRequests({ url: server.url, ...options.cheap });
    log(`cheap requests: ${cheap.paths.map((p) => `${p.path} busy p99 ${p.busy.latencyByStatus['200']?.p99.toFixed(1) ?? '-'} ms`).join(', ')}`);
    const disconnects = await runDisconnects({ url: server.url, ...options.disconnects, followUp: options.server.maxSeqs });
    log(`disconnects: ${disconnects.dropped} dropped, settled after ${disconnects.settledAfterMs?.toFixed(0) ?? 'never'} ms`);
    return {
      kind: 'http',
      machine: describeMachine(),
      server: { args: server.args, capacity: options.server.maxSeqs + options.server.maxWaiting },
      overload,
      cheap,
      disconnects,
      loadAverage: { start, end: loadavg() },
    };
  } finally {
    await server.stop();
  }
}
