import { randomBytes } from 'node:crypto';

/**
 * Ids in OpenAI's shapes: `file-…`, `batch_…`, `batch_req_…`. 24 random bytes (192 bits) in
 * hex: unguessable, so an id is also the right to read a file or batch on a server without a key.
 */
const randomHex = () => randomBytes(24).toString('hex');

export const newFileId = () => `file-${randomHex()}`;
export const newBatchId = () => `batch_${randomHex()}`;
/** One line's answer: the `id` of an output line and the X-Request-Id of its in-process request. */
export const newBatchRequestId = () => `batch_req_${randomHex()}`;
