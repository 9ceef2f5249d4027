import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DASHBOARD_UID } from '../deploy/grafana/dashboard.js';

/**
 * Docker cannot run here, so the compose stack is checked statically: every file parses, every
 * path it mounts or builds from exists, and the pieces point at each other (server port ->
 * scrape target, Prometheus service -> Grafana data source, mounted dashboards -> provider path).
 */

const DEPLOY = fileURLToPath(new URL('../deploy/', import.meta.url));
const REPO = resolve(DEPLOY, '..');
const readYaml = (path: string) => parse(readFileSync(join(DEPLOY, path), 'utf8'));

interface ComposeService {
  build?: { context: string; dockerfile: string };
  image?: string;
  ports?: string[];
  volumes?: string[];
  environment?: string[] | Record<string, string>;
  depends_on?: string[] | Record<string, unknown>;
}

const compose = readYaml('docker-compose.yml') as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };

/** Bind mounts of a service as [host path resolved against deploy/, container path]. */
function bindMounts(service: ComposeService): [string, string][] {
  return (service.volumes ?? [])
    .map((v) => v.split(':'))
    .filter(([source]) => source.startsWith('.') || source.startsWith('/'))
    .map(([source, target]) => [resolve(DEPLOY, source), target]);
}

describe('deploy/: docker-compose stack, Prometheus and Grafana provisioning (the server image and PostgreSQL: deploy-container.test.ts)', () => {
  it('compose starts server, Prometheus and Grafana, from paths that exist', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['grafana', 'postgres', 'prometheus', 'server']);
    const build = compose.services.server.build!;
    const context = resolve(DEPLOY, build.context);
    expect(context).toBe(REPO);
    expect(existsSync(join(context, build.dockerfile))).toBe(true);
    expect(existsSync(join(DEPLOY, 'Dockerfile.dockerignore'))).toBe(true);
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [source] of bindMounts(service)) expect(existsSync(source), `${name} mounts ${source}`).toBe(true);
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0];
        if (!source.startsWith('.') && !source.startsWith('/')) expect(compose.volumes, `named volume ${source}`).toHaveProperty(source);
      }
    }
    expect(compose.services.prometheus.depends_on).toContain('server');
    expect(compose.services.grafana.depends_on).toContain('prometheus');
  });

  it('the Dockerfile installs from package.json and the lock file and runs the CLI', () => {
    const dockerfile = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20/m);
    expect(dockerfile).toMatch(/RUN npm install .*&& npm prune --omit=dev/);
    expect(dockerfile).toContain('ENTRYPOINT ["node", "bin/qwen3-serve.js"]');
    expect(existsSync(join(REPO, 'bin/qwen3-serve.js'))).toBe(true);
    expect(existsSync(join(REPO, '.npmrc'))).toBe(true);
  });

  it('Prometheus scrapes the server service on the port it listens on, and promtool accepts the config', () => {
    const config = readYaml('prometheus/prometheus.yml') as { scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[] }[] }[] };
    const job = config.scrape_configs.find((j) => j.job_name === 'qwen3-serve')!;
    expect(job.metrics_path).toBe('/metrics');
    const env = compose.services.server.environment as string[];
    const port = env.find((e) => e.startsWith('QWEN3_SERVE_PORT='))!.split('=')[1];
    expect(job.static_configs[0].targets).toEqual([`server:${port}`]);
    expect(compose.services.server.ports).toContain(`${port}:${port}`);

    const promtool = spawnSync('promtool', ['check', 'config', join(DEPLOY, 'prometheus/prometheus.yml')], { encoding: 'utf8' });
    expect(promtool.error, 'promtool is installed with the prometheus package (.ci/run installs it)').toBeUndefined();
    expect(promtool.status, promtool.stdout + promtool.stderr).toBe(0);
  });

  it('Grafana provisions the Prometheus data source and loads the generated dashboard', () => {
    const grafana = compose.services.grafana;
    const mounts = new Map(bindMounts(grafana).map(([source, target]) => [target, source]));

    const provisioning = mounts.get('/etc/grafana/provisioning')!;
    expect(provisioning).toBe(join(DEPLOY, 'grafana/provisioning'));
    const datasources = parse(readFileSync(join(provisioning, 'datasources/prometheus.yaml'), 'utf8'));
    expect(datasources.apiVersion).toBe(1);
    expect(datasources.datasources).toEqual([expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true })]);
    const prometheusPort = compose.services.prometheus.ports![0].split(':')[1];
    expect(prometheusPort).toBe('9090');

    const providers = parse(readFileSync(join(provisioning, 'dashboards/qwen3-serve.yaml'), 'utf8'));
    const providerPath: string = providers.providers[0].options.path;
    const dashboardsDir = mounts.get(providerPath)!;
    expect(dashboardsDir).toBe(join(DEPLOY, 'grafana/dashboards'));
    const dashboard = JSON.parse(readFileSync(join(dashboardsDir, 'qwen3-serve.json'), 'utf8'));
    expect(dashboard.uid).toBe(DASHBOARD_UID);

    const env = grafana.environment as Record<string, string>;
    const home = env.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    expect(home.startsWith(`${providerPath}/`)).toBe(true);
    expect(existsSync(join(dashboardsDir, home.slice(providerPath.length + 1)))).toBe(true);
  });
});
