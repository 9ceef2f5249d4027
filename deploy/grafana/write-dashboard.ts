import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDashboard } from './dashboard.js';

/** Where Grafana's provisioning (and the docker-compose stack) loads the dashboard from. */
export const DASHBOARD_JSON_PATH = fileURLToPath(new URL('./dashboards/qwen3-serve.json', import.meta.url));

/** The committed file's exact text: stable key order from the builder, two-space indent. */
export function dashboardJsonText(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

// `npm run dashboard` regenerates the committed JSON.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  mkdirSync(dirname(DASHBOARD_JSON_PATH), { recursive: true });
  writeFileSync(DASHBOARD_JSON_PATH, dashboardJsonText());
  console.log(`wrote ${DASHBOARD_JSON_PATH}`);
}
