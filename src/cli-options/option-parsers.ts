import { InvalidArgumentError } from 'commander';

/**
 * The argument parsers the CLI commands (src/commands/) and the loadtest scripts share
 * (commander's `argParser` callbacks). They live outside src/commands/ because `bench` imports
 * loadtest/, so loadtest/ importing src/commands/ would make the two import each other. A bad value
 * throws commander's InvalidArgumentError, whose message commander prints after the flag's name,
 * so each message says what was expected. Integers are whole decimal strings: `Number()` alone
 * would accept `1e3`, `0x10`, ` 7` or `2.0`.
 */

/**
 * One of the parsers above outside commander (scripts that read flags with node:util parseArgs):
 * the error names the flag, as commander's would.
 */
export function parseFlag<T>(flag: string, value: string | undefined, parse: (value: string) => T): T {
  try {
    return parse(value ?? '');
  } catch (err) {
    throw new Error(`--${flag}: ${(err as Error).message}, got ${JSON.stringify(value)}`);
  }
}

export function parseNonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** A comma-separated list of positive integers, e.g. `1,2,4,8`. */
export function parsePositiveIntList(value: string): number[] {
  return value.split(',').map((part) => parsePositiveInt(part.trim()));
}

export function parseNonNegativeNumber(value: string): number {
  const n = Number(value);
  // Number('') and Number(' ') are 0, not an error.
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a non-negative number');
  return n;
}

export function parsePositiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return n;
}

/** Multipliers of the byte-size units, lower-cased; decimal units are powers of 1000, `i` units of 1024. */
const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 2 ** 10,
  m: 1e6,
  mb: 1e6,
  mib: 2 ** 20,
  g: 1e9,
  gb: 1e9,
  gib: 2 ** 30,
  t: 1e12,
  tb: 1e12,
  tib: 2 ** 40,
};

/** A size in bytes: a plain number, or with a unit (4GiB, 512MB, 1.5G); decimal units are powers of 1000. */
export function parseByteSize(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = match ? BYTE_UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new InvalidArgumentError('expected a size in bytes, e.g. 4GiB, 512MB or 1048576');
  const bytes = Math.floor(Number(match[1]) * unit);
  if (bytes <= 0 || !Number.isSafeInteger(bytes)) throw new InvalidArgumentError('expected a positive size');
  return bytes;
}

/**
 * A PostgreSQL connection URL, `postgres://` or `postgresql://` (libpq's form, which the `pg`
 * client reads: user, password, host, port, database, `?sslmode=`, `?host=` for a socket folder).
 * An empty value (an empty environment variable) stays empty: unset.
 */
export function parsePostgresUrl(value: string): string {
  if (value === '') return value;
  if (!/^postgres(ql)?:\/\//i.test(value)) throw new InvalidArgumentError('expected a postgres:// or postgresql:// URL');
  try {
    new URL(value);
  } catch {
    throw new InvalidArgumentError('expected a postgres:// URL that parses (user:password@host:port/database)');
  }
  return value;
}
