import { SingleBar } from 'cli-progress';
import type { DownloadProgress } from '../convert/hub/download-model.js';

const MIB = 2 ** 20;

/**
 * A byte progress bar for a model download on stderr (stdout stays clean: `download` prints the
 * folder there for scripts): percent, MiB done of the total, speed, and the file being fetched.
 * Without a terminal (CI logs, a container's log) cli-progress prints the same line every 10 s
 * instead of redrawing it.
 */
export function stderrDownloadProgress(): { onProgress: (progress: DownloadProgress) => void; stop: () => void } {
  const bar = new SingleBar({
    stream: process.stderr,
    format: 'downloading {bar} {percentage}% | {doneMiB}/{totalMiB} MiB | {speed} MiB/s | {file}',
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 10_000,
  });
  const started = performance.now();
  let running = false;
  return {
    onProgress({ doneBytes, totalBytes, path }) {
      const seconds = (performance.now() - started) / 1000;
      const payload = {
        doneMiB: (doneBytes / MIB).toFixed(1),
        totalMiB: (totalBytes / MIB).toFixed(1),
        speed: seconds > 0 ? (doneBytes / MIB / seconds).toFixed(1) : '0.0',
        file: path,
      };
      if (!running) {
        bar.start(totalBytes, doneBytes, payload);
        running = true;
        return;
      }
      // The total grows once when tokenizer files come from the repository root.
      bar.setTotal(totalBytes);
      bar.update(doneBytes, payload);
    },
    stop() {
      if (running) bar.stop();
    },
  };
}

/**
 * The hub client announces every file it fetches with console.debug, which Node writes to
 * stdout: there it would corrupt `download`'s output (the folder, for scripts) and `serve`'s JSON
 * log lines. The progress bar says the same on stderr, so those lines are dropped.
 */
export function silenceHubClientDebug(): void {
  console.debug = () => {};
}
