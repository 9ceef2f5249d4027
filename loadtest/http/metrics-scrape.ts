/**
 * Reads the server's own /metrics (Prometheus text format) for the figures the load tests check:
 * requests running and waiting, KV cache in use, process memory. One scrape, then lookups.
 */
export class MetricsScrape {
  private constructor(private readonly samples: { name: string; labels: string; value: number }[]) {}

  static async fetch(baseUrl: string): Promise<MetricsScrape> {
    const response = await fetch(`${baseUrl}/metrics`);
    if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
    return MetricsScrape.parse(await response.text());
  }

  /** Sample lines `name{labels} value [timestamp]`; comments and blank lines are skipped. */
  static parse(text: string): MetricsScrape {
    const samples: { name: string; labels: string; value: number }[] = [];
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
      if (match) samples.push({ name: match[1], labels: match[2] ?? '', value: Number(match[3]) });
    }
    return new MetricsScrape(samples);
  }

  /**
   * The sum of a metric's samples over all label sets (one model is served, so a gauge has one),
   * optionally only those whose label text contains `labelText`; undefined when it has none.
   */
  value(name: string, labelText?: string): number | undefined {
    const matching = this.samples.filter((s) => s.name === name && (labelText === undefined || s.labels.includes(labelText)));
    return matching.length === 0 ? undefined : matching.reduce((sum, s) => sum + s.value, 0);
  }

  /** Like value(), but a missing metric is an error: the load tests depend on these. */
  require(name: string, labelText?: string): number {
    const value = this.value(name, labelText);
    if (value === undefined) throw new Error(`/metrics has no ${name}${labelText ? ` with ${labelText}` : ''}`);
    return value;
  }
}

/** Process memory as the server reports it. */
export async function serverRssBytes(baseUrl: string): Promise<number> {
  return (await MetricsScrape.fetch(baseUrl)).require('qwen3_serve_process_resident_memory_bytes');
}
