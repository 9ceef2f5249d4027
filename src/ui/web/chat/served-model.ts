import type { ApiClient } from '../api/api-client.js';

/** The model the server serves, as /v1/models describes it. */
export interface ServedModel {
  id: string;
  /** Tokens of prompt and answer together one request may use. */
  maxModelLen: number;
}

/** The first model of /v1/models (this server serves one); asked once, then remembered. */
export function servedModelLoader(api: ApiClient): () => Promise<ServedModel> {
  let model: Promise<ServedModel> | null = null;
  return () => {
    model ??= api.json<{ data: { id: string; max_model_len: number }[] }>('/v1/models').then(({ data }) => {
      if (!data[0]) throw new Error('the server lists no model');
      return { id: data[0].id, maxModelLen: data[0].max_model_len };
    });
    // A failure (server still loading) is not remembered: the next call asks again.
    model.catch(() => (model = null));
    return model;
  };
}
