/**
 * Where exporter/ reports on itself: the server's pino logger fits (pino's level methods take a
 * plain message). Only collectors that can fail on their own (the GPU poller) log.
 */
export interface MetricsLogger {
  debug(message: string): void;
  warn(message: string): void;
}
