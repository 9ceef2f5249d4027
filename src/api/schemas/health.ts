import { z } from 'zod';
import { component } from './registry.js';

/** GET /health and /ready. */

export const Health = component(z.object({ status: z.literal('ok') }), 'Health', 'The process is alive (liveness).');

export const Readiness = component(
  z.object({
    status: z.enum(['loading', 'ready', 'draining', 'failed']),
    model: z.string().nullable(),
    error: z.string().optional(),
  }),
  'Readiness',
  'Whether the model is loaded and new work is accepted: 200 when `ready`, 503 otherwise.',
);
export type Readiness = z.output<typeof Readiness>;
