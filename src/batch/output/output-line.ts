import { newBatchRequestId } from '../batch-ids.js';

/**
 * Output lines (BatchRequestOutput), OpenAI's format:
 *   {"id":"batch_req_…","custom_id":"…","response":{"status_code":200,"request_id":"…","body":{…}},"error":null}
 * The body is spliced in as the exact text the endpoint answered, not re-serialized, so it is
 * byte for byte what an HTTP client of the line's endpoint would have read.
 */
export function answeredLine(input: { id: string; customId: string; statusCode: number; requestId: string; bodyText: string }): string {
  return (
    `{"id":${JSON.stringify(input.id)},"custom_id":${JSON.stringify(input.customId)},` +
    `"response":{"status_code":${input.statusCode},"request_id":${JSON.stringify(input.requestId)},"body":${input.bodyText}},"error":null}`
  );
}

/** Why a line was never run. */
export type UnansweredReason = 'batch_cancelled' | 'batch_expired';

const UNANSWERED_MESSAGES: Record<UnansweredReason, string> = {
  batch_cancelled: 'This request was not executed because the batch was cancelled.',
  batch_expired: 'This request could not be executed before the completion window expired.',
};

/** A line that never ran (batch cancelled or expired first): `response` null, `error` says why. */
export function unansweredLine(customId: string, reason: UnansweredReason): string {
  return JSON.stringify({ id: newBatchRequestId(), custom_id: customId, response: null, error: { code: reason, message: UNANSWERED_MESSAGES[reason] } });
}
