/**
 * The endpoints a batch line may call: the two generation endpoints. Each line runs through the
 * same route as an HTTP request to it would.
 */
export const BATCH_ENDPOINTS = ['/v1/chat/completions', '/v1/completions'] as const;
export type BatchEndpoint = (typeof BATCH_ENDPOINTS)[number];
