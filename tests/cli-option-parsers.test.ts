import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  parseByteSize,
  parseFlag,
  parseNonNegativeInt,
  parseNonNegativeNumber,
  parsePort,
  parsePositiveInt,
  parsePositiveIntList,
  parsePositiveNumber,
  parsePostgresUrl,
} from '../src/cli-options/option-parsers.js';
import { serveCommand } from '../src/commands/serve.js';

/** The message a parser rejects `value` with; fails the test if it accepts it or throws anything else. */
function rejection(parse: (value: string) => unknown, value: string): string {
  try {
    parse(value);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return (err as Error).message;
  }
  throw new Error(`${parse.name} accepted ${JSON.stringify(value)}`);
}

describe('integer parsers', () => {
  it('take whole decimal strings only', () => {
    expect(parsePositiveInt('1')).toBe(1);
    expect(parsePositiveInt('8192')).toBe(8192);
    expect(parseNonNegativeInt('0')).toBe(0);
    expect(parseNonNegativeInt('12')).toBe(12);
    // Number() would take all of these.
    for (const value of ['', ' 7', '1e3', '0x10', '2.0', '-1', '+3']) {
      expect(rejection(parsePositiveInt, value)).toBe('expected a positive integer');
      expect(rejection(parseNonNegativeInt, value)).toBe('expected a non-negative integer');
    }
  });

  it('tell zero and unsafe integers apart', () => {
    expect(rejection(parsePositiveInt, '0')).toBe('expected a positive integer');
    expect(rejection(parsePositiveInt, '9007199254740993')).toBe('expected a positive integer');
    expect(rejection(parseNonNegativeInt, '9007199254740993')).toBe('expected a non-negative integer');
  });

  it('read comma-separated lists of positive integers', () => {
    expect(parsePositiveIntList('1, 2,4 ,8')).toEqual([1, 2, 4, 8]);
    expect(rejection(parsePositiveIntList, '1,0')).toBe('expected a positive integer');
    expect(rejection(parsePositiveIntList, '1,,2')).toBe('expected a positive integer');
  });
});

describe('number parsers', () => {
  it('take finite decimals and reject blanks', () => {
    expect(parseNonNegativeNumber('0')).toBe(0);
    expect(parseNonNegativeNumber('2.5')).toBe(2.5);
    expect(parsePositiveNumber('1e6')).toBe(1e6);
    for (const value of ['', ' ', 'abc', 'Infinity', '-1']) {
      expect(rejection(parseNonNegativeNumber, value)).toBe('expected a non-negative number');
      expect(rejection(parsePositiveNumber, value)).toBe('expected a positive number');
    }
    expect(rejection(parsePositiveNumber, '0')).toBe('expected a positive number');
  });
});

describe('parsePort', () => {
  it('takes 0 to 65535', () => {
    expect(parsePort('0')).toBe(0);
    expect(parsePort('65535')).toBe(65535);
    expect(rejection(parsePort, '65536')).toBe('expected a port number from 0 to 65535');
    expect(rejection(parsePort, 'http')).toBe('expected a port number from 0 to 65535');
  });
});

describe('parseByteSize', () => {
  it('reads plain numbers and decimal and binary units, any case', () => {
    expect(parseByteSize('1048576')).toBe(1048576);
    expect(parseByteSize('512MB')).toBe(512e6);
    expect(parseByteSize('4GiB')).toBe(4 * 2 ** 30);
    expect(parseByteSize('1.5g')).toBe(1.5e9);
    expect(parseByteSize(' 2 kib ')).toBe(2048);
  });

  it('rejects unknown units and sizes under one byte', () => {
    expect(rejection(parseByteSize, '4 parsecs')).toBe('expected a size in bytes, e.g. 4GiB, 512MB or 1048576');
    expect(rejection(parseByteSize, '-1')).toBe('expected a size in bytes, e.g. 4GiB, 512MB or 1048576');
    expect(rejection(parseByteSize, '0')).toBe('expected a positive size');
    expect(rejection(parseByteSize, '0.1')).toBe('expected a positive size');
  });
});

describe('in a commander option', () => {
  it('names the flag, the value and what was expected', async () => {
    let stderr = '';
    const command = new Command('probe')
      .exitOverride()
      .configureOutput({ writeErr: (text) => (stderr += text), writeOut: () => {} })
      .option('--threads <n>', 'threads', parsePositiveInt)
      .action(() => {});
    await expect(command.parseAsync(['--threads', 'many'], { from: 'user' })).rejects.toBeInstanceOf(CommanderError);
    expect(stderr).toContain("option '--threads <n>' argument 'many' is invalid. expected a positive integer");
  });
});

describe('parseFlag', () => {
  it('runs a parser outside commander and names the flag and the value in its error', () => {
    expect(parseFlag('rows', '8', parsePositiveInt)).toBe(8);
    expect(() => parseFlag('rows', '0', parsePositiveInt)).toThrow('--rows: expected a positive integer, got "0"');
    expect(() => parseFlag('past', undefined, parseNonNegativeInt)).toThrow('--past: expected a non-negative integer, got undefined');
  });
});

describe('serve flags, from the command line and the environment', () => {
  /** The flags `serve` would run with, parsed without starting a server. */
  function serveFlags(args: string[], env: Record<string, string> = {}): Record<string, unknown> {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const command = serveCommand().action(() => {});
      command.parse(args, { from: 'user' });
      return command.opts();
    } finally {
      for (const key of Object.keys(env)) if (!(key in saved)) delete process.env[key];
    }
  }

  it('is on unless the flag or its variable (set to anything) turns it off', () => {
    expect(serveFlags([]).prefixCaching).toBe(true);
    expect(serveFlags(['--no-prefix-caching']).prefixCaching).toBe(false);
    expect(serveFlags([], { QWEN3_SERVE_NO_PREFIX_CACHING: '1' }).prefixCaching).toBe(false);
  });

  it('--database takes a postgres:// URL, from the flag or QWEN3_SERVE_DATABASE_URL; --batch-lease-seconds a positive number', () => {
    const url = 'postgres://qwen:secret@db.internal:5432/batches?sslmode=require';
    expect(serveFlags([]).database).toBeUndefined();
    expect(serveFlags(['--database', url]).database).toBe(url);
    expect(serveFlags([], { QWEN3_SERVE_DATABASE_URL: url }).database).toBe(url);
    expect(serveFlags([], { QWEN3_SERVE_BATCH_LEASE_SECONDS: '2.5' }).batchLeaseSeconds).toBe(2.5);
    expect(parsePostgresUrl('postgresql://localhost/db')).toBe('postgresql://localhost/db');
    expect(parsePostgresUrl('')).toBe('');
    expect(rejection(parsePostgresUrl, 'mysql://localhost/db')).toBe('expected a postgres:// or postgresql:// URL');
    expect(rejection(parsePostgresUrl, 'postgres://[bad')).toContain('expected a postgres:// URL that parses');
  });
});
