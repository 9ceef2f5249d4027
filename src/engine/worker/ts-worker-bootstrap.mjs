// Entry of worker threads started from TypeScript sources (tests, tsx): Node 20 applies
// `--import` loader hooks too late for a worker's own entry module, so this plain module
// registers tsx first and then imports the real (.ts) entry named in workerData.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.__tsEntry);
