import { startBatchBenchServer } from '../../loadtest/batch-server.js';

/** For tests/loadtest-batch-server.test.ts: starts a benchmark server on the model in argv[2], prints its URL, and waits. */
const server = await startBatchBenchServer(['--model', process.argv[2], '--max-seqs', '1']);
process.stdout.write(`${server.url}\n`);
setInterval(() => {}, 60_000);
