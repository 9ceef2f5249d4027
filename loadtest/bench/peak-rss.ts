import { readFileSync } from 'node:fs';

/**
 * The highest resident memory this process has had, in bytes. Read from VmHWM in
 * /proc/self/status, which starts afresh with the process image; getrusage's ru_maxrss does not:
 * Linux carries it over fork and exec, so a benchmark child forked by a parent that held a
 * 1-2 GiB bandwidth buffer reported the parent's peak as its own. ru_maxrss is the fallback
 * where /proc is missing.
 */
export function peakRssBytes(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // Not Linux: fall through.
  }
  // maxRSS is in kilobytes.
  return process.resourceUsage().maxRSS * 1024;
}
