import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { ChatTemplateError } from '../../model/tokenizer/chat-template-error.js';
import { loadTokenizer } from '../../model/tokenizer/load-tokenizer.js';
import type { TokenizerJob, TokenizerReply } from './tokenizer-protocol.js';

/**
 * A tokenizer thread of the TokenizerPool: loads the model folder's tokenizer and answers encode
 * and chat-template jobs one at a time, in arrival order, so the HTTP thread never runs them.
 */

function requireParentPort(): MessagePort {
  if (!parentPort) throw new Error('tokenizer-worker must run in a worker thread');
  return parentPort;
}

const port = requireParentPort();
const post = (reply: TokenizerReply) => port.postMessage(reply);

try {
  const tokenizer = await loadTokenizer((workerData as { modelDir: string }).modelDir);
  port.on('message', (job: TokenizerJob) => {
    try {
      if (job.op === 'encode') post({ id: job.id, type: 'encoded', tokenIds: tokenizer.encode(job.text, { addSpecialTokens: job.addSpecialTokens }) });
      else post({ id: job.id, type: 'rendered', rendered: tokenizer.applyChatTemplate(job.messages, job.options) });
    } catch (err) {
      post({ id: job.id, type: 'failed', message: (err as Error).message, chatTemplate: err instanceof ChatTemplateError });
    }
  });
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'loadFailed', message: (err as Error).message });
}
