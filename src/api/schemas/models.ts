import { z } from 'zod';
import { component } from './registry.js';

/** GET /v1/models and /v1/models/{id}. */

export const Model = component(
  z.object({
    id: z.string(),
    object: z.literal('model'),
    created: z.int(),
    owned_by: z.string(),
    max_model_len: z.int().min(1).meta({ description: 'vLLM extra: the most tokens (prompt + output) one sequence may reach.' }),
  }),
  'Model',
  'The served model.',
);
export type Model = z.output<typeof Model>;

export const ModelList = component(z.object({ object: z.literal('list'), data: z.array(Model) }), 'ModelList', 'The models this server serves (one).');
export type ModelList = z.output<typeof ModelList>;
