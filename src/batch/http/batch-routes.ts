import { Hono } from 'hono';
import type { FeatureRoutes } from '../../api/feature-routes.js';
import type { AppEnv } from '../../api/http/app-env.js';
import type { BatchJobs } from '../batch-jobs.js';
import { registerBatches } from './routes/batches.js';
import { FILES_PATH, registerFiles } from './routes/files.js';

/** Multipart framing around an uploaded file, allowed beyond the file size limit. */
const UPLOAD_FRAMING_BYTES = 64 * 1024;

/**
 * The Files and Batch API as routes for the app to mount: OpenAI's /v1/files and /v1/batches
 * over the jobs. Uploads have their own body limit (--max-file-bytes) instead of the request
 * body limit; the upload route checks the file's own size as well.
 */
export function batchRoutes(jobs: BatchJobs): FeatureRoutes {
  const routes = new Hono<AppEnv>();
  registerFiles(routes, jobs);
  registerBatches(routes, jobs);
  return { routes, uploadLimits: { [FILES_PATH]: jobs.limits.maxFileBytes + UPLOAD_FRAMING_BYTES } };
}
