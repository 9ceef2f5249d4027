/**
 * The one-line explanation for a listen() that failed because the address is taken
 * (EADDRINUSE), or null for any other error. Also covers EACCES on a privileged port, the other
 * failure an operator fixes by choosing another --port.
 */
export function portInUseMessage(err: unknown, host: string, port: number): string | null {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (code === 'EADDRINUSE') {
    return `cannot listen on ${where}: the port is already in use (another qwen3-serve or another program listens there). Stop it, or choose another port with --port or QWEN3_SERVE_PORT.`;
  }
  if (code === 'EACCES') {
    return `cannot listen on ${where}: permission denied (ports below 1024 need privileges). Choose a port of 1024 or above with --port or QWEN3_SERVE_PORT.`;
  }
  return null;
}
