import { sumByName } from '../status/prometheus-text.js';

/** How often the panel reads /metrics. */
const POLL_MS = 2000;

interface Reading {
  at: number;
  generated: number;
}

const bytes = (n: number) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : `${(n / 2 ** 20).toFixed(0)} MiB`);

/**
 * The server's state from its own /metrics (the same series Prometheus scrapes): generation
 * speed (tokens/s between two polls), running and waiting requests, KV cache use, process memory,
 * and GPU utilisation and memory when the server reports a GPU. Polls only while the page is
 * visible.
 */
export class StatusPanel {
  private last: Reading | null = null;
  private timer = 0;

  constructor(private readonly list: HTMLElement) {}

  start(): void {
    const tick = async () => {
      if (document.visibilityState === 'visible') await this.poll().catch(() => this.show([['Server', 'unreachable']]));
      this.timer = window.setTimeout(tick, POLL_MS);
    };
    void tick();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private async poll(): Promise<void> {
    const response = await fetch('/metrics');
    if (!response.ok) return this.show([['Metrics', `${response.status}`]]);
    const metrics = sumByName(await response.text());
    const now = performance.now();
    const generated = metrics.get('vllm:generation_tokens_total') ?? 0;
    const rate = this.last && now > this.last.at ? Math.max(0, ((generated - this.last.generated) * 1000) / (now - this.last.at)) : 0;
    this.last = { at: now, generated };
    const rows: [string, string][] = [
      ['Tokens/s', rate.toFixed(1)],
      ['Running', String(metrics.get('vllm:num_requests_running') ?? 0)],
      ['Waiting', String(metrics.get('vllm:num_requests_waiting') ?? 0)],
      ['KV cache', `${((metrics.get('vllm:kv_cache_usage_perc') ?? 0) * 100).toFixed(1)} %`],
      ['Memory', bytes(metrics.get('qwen3_serve_process_resident_memory_bytes') ?? 0)],
    ];
    const gpuTotal = metrics.get('qwen3_serve_gpu_memory_total_bytes');
    if (gpuTotal !== undefined) {
      rows.push(['GPU', `${((metrics.get('qwen3_serve_gpu_utilization_ratio') ?? 0) * 100).toFixed(0)} %`]);
      rows.push(['GPU memory', `${bytes(metrics.get('qwen3_serve_gpu_memory_used_bytes') ?? 0)} / ${bytes(gpuTotal)}`]);
    }
    this.show(rows);
  }

  private show(rows: [string, string][]): void {
    this.list.replaceChildren(
      ...rows.flatMap(([name, value]) => {
        const term = document.createElement('dt');
        term.textContent = name;
        const definition = document.createElement('dd');
        definition.textContent = value;
        definition.dataset.metric = name.toLowerCase().replace(/[^a-z]+/g, '-');
        return [term, definition];
      }),
    );
  }
}
