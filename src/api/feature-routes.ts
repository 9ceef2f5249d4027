import type { Hono } from 'hono';
import type { AppEnv } from './http/app-env.js';

/**
 * Routes that a feature outside the API layer serves on the app (the Files and Batch API does).
 * The feature builds them over this layer's pieces (AppEnv, validation, schema registry) and
 * hands them to createApp, so the API layer imports nothing from it. They are mounted at the
 * root, behind the app's middleware (exchange log, API key, body limit) and its error handling.
 */
export interface FeatureRoutes {
  /** A sub-app whose paths are absolute (`/v1/files`). */
  routes: Hono<AppEnv>;
  /**
   * POST paths that take uploads larger than the request body limit, each with its own limit in
   * bytes, which replaces the request body limit there.
   */
  uploadLimits?: Readonly<Record<string, number>>;
}
