import { SingleBar } from 'cli-progress';
import type { TensorProgress } from '../onnx/decoder-context.js';

/**
 * A progress bar on stderr (stdout stays clean for whatever a script pipes out of the CLI) that
 * advances once per checkpoint tensor written. Without a terminal (CI logs, redirected stderr) it
 * prints a plain status line every 10 s instead, so a minutes-long 4B export still shows life.
 */
export function stderrTensorProgress(): { onProgress: TensorProgress; stop: () => void } {
  const bar = new SingleBar({
    stream: process.stderr,
    format: 'writing model {bar} {value}/{total} tensors | {duration_formatted} | {tensor}',
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 10_000,
  });
  let started = false;
  return {
    onProgress(done, total, name) {
      if (!started) {
        bar.start(total, 0, { tensor: '' });
        started = true;
      }
      bar.update(done, { tensor: name });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
