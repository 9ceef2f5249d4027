import { pino, type Level, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

/** pino's levels, quietest last; `--log-level` takes one of them. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const satisfies readonly (Level | 'silent')[];
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The server's logger: pino JSON lines on stdout for log collectors, or, when stdout is a
 * terminal, the same records rendered by pino-pretty for a person (local time, coloured level,
 * message first, fields below). The choice follows stdout, not a flag, so `serve | jq` and a
 * container's log driver always get JSON.
 *
 * pino-pretty runs as an in-process stream rather than a transport thread: a terminal is slow
 * enough either way, and writing synchronously keeps the last lines before process.exit.
 */
export function serveLogger(level: LogLevel, stdoutIsTerminal = process.stdout.isTTY === true): Logger {
  const options = { name: 'qwen3-serve', level };
  if (!stdoutIsTerminal) return pino(options);
  return pino(options, pinoPretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true }));
}
