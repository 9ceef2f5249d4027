/**
 * The endpoints a batch line may call: the generation endpoints. Each line runs through the same
 * route as an HTTP request to it would (a /v1/responses line is stored as any response is,
 * unless its body says `store: false`).
 */
export const BATCH_ENDPOINTS = ['/v1/chat/completions', '/v1/completions', '/v1/responses'] as const;
export type BatchEndpoint = (typeof BATCH_ENDPOINTS)[number];
