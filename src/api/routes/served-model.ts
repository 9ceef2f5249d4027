import { ServeError } from '../../errors.js';
import type { ServedModel } from '../serving-state.js';

/** Checks a request's `model` field: absent or the served name; anything else is a 404. */
export function checkModelName(model: ServedModel, requested: string | undefined): void {
  if (requested === undefined || requested === model.name) return;
  throw new ServeError('not_found_error', `The model '${requested}' does not exist; this server serves '${model.name}'`, {
    param: 'model',
    code: 'model_not_found',
  });
}

/** Token ids from a client must be rows of the model's logits. */
export function checkTokenIds(model: ServedModel, ids: readonly number[], param: string): void {
  const vocab = model.engine.info.vocabSize;
  const bad = ids.findIndex((id) => id >= vocab);
  if (bad >= 0) {
    throw new ServeError('invalid_request_error', `${param}.${bad} is ${ids[bad]}, not a token id below ${vocab}`, {
      param: `${param}.${bad}`,
      code: 'invalid_value',
    });
  }
}

/** Unix seconds, for the `created` field of responses. */
export const unixSeconds = () => Math.floor(Date.now() / 1000);
