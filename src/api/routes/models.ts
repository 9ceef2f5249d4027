import type { Hono } from 'hono';
import type { AppEnv } from '../http/app-env.js';
import type { Model, ModelList } from '../schemas/models.js';
import type { ServedModel } from '../serving-state.js';
import type { RouteOptions } from './route-options.js';
import { checkModelName } from './served-model.js';

/** GET /v1/models and /v1/models/{id}: the one served model. */
export function registerModels(app: Hono<AppEnv>, options: RouteOptions): void {
  app.get('/v1/models', (c) => {
    const model = options.state.acceptWork();
    const list: ModelList = { object: 'list', data: [describe(model)] };
    return c.json(list);
  });
  app.get('/v1/models/:id{.+}', (c) => {
    const model = options.state.acceptWork();
    checkModelName(model, c.req.param('id'));
    return c.json(describe(model));
  });
}

function describe(model: ServedModel): Model {
  return { id: model.name, object: 'model', created: model.created, owned_by: 'qwen3-serve', max_model_len: model.engine.info.contextLimit };
}
