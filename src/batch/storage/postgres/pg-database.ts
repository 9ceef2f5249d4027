import pg from 'pg';

/**
 * The schema, as migrations applied in order and recorded in `schema_migrations`. A database
 * written by an older qwen3-serve is brought up to date by the first replica that connects; one
 * written by a newer one is refused. Append a migration, never edit one that shipped.
 * Same tables as the SQLite store (see sqlite-database.ts), plus:
 * - file_chunks: the files' bytes, in chunks of up to 1 MiB per row. The bytes live in the
 *   database, not in a shared folder, so replicas need nothing shared but the database (no
 *   ReadWriteMany volume in Kubernetes), a file uploaded through one replica is readable through
 *   any, and its bytes are backed up with its row. Chunks rather than one bytea value: an upload
 *   or a download never needs the whole file in one value (or in memory, for downloads).
 *   Chunks are written before their file's row exists; chunks of no row that are over an hour old
 *   are a crashed writer's and swept.
 * - batch_lines.lease_owner / lease_expires_at (Unix milliseconds by the database's clock): which
 *   replica runs a line, until when.
 */
const MIGRATIONS: readonly string[] = [
  `
CREATE TABLE files (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  filename TEXT NOT NULL,
  purpose TEXT NOT NULL,
  bytes BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE file_chunks (
  file_id TEXT NOT NULL,
  chunk INTEGER NOT NULL,
  data BYTEA NOT NULL,
  written_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (file_id, chunk)
);
CREATE TABLE batches (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL CHECK (status IN ('validating', 'failed', 'in_progress', 'finalizing', 'completed', 'expired', 'cancelling', 'cancelled')),
  ending TEXT CHECK (ending IN ('completed', 'expired', 'cancelled')),
  endpoint TEXT NOT NULL,
  input_file_id TEXT NOT NULL,
  completion_window TEXT NOT NULL,
  model TEXT,
  metadata TEXT,
  errors TEXT,
  output_file_id TEXT,
  error_file_id TEXT,
  total BIGINT NOT NULL DEFAULT 0,
  completed BIGINT NOT NULL DEFAULT 0,
  failed BIGINT NOT NULL DEFAULT 0,
  input_tokens BIGINT NOT NULL DEFAULT 0,
  output_tokens BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  in_progress_at BIGINT,
  finalizing_at BIGINT,
  completed_at BIGINT,
  failed_at BIGINT,
  expired_at BIGINT,
  cancelling_at BIGINT,
  cancelled_at BIGINT
);
CREATE TABLE batch_lines (
  batch_id TEXT NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
  line_index INTEGER NOT NULL,
  line_number INTEGER NOT NULL,
  custom_id TEXT NOT NULL,
  url TEXT NOT NULL,
  body TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
  output TEXT,
  lease_owner TEXT,
  lease_expires_at BIGINT,
  PRIMARY KEY (batch_id, line_index)
);
CREATE INDEX batch_lines_by_state ON batch_lines (batch_id, state, line_index);
`,
];

/** The advisory lock that serializes migrations of replicas starting together. */
const MIGRATION_LOCK = 0x71776e33;

/** BIGINT (oid 20) as a JS number: counts, tokens and Unix times all stay far below 2^53. */
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as unknown as typeof pg.types.getTypeParser,
};

/** The database's clock in Unix milliseconds, for leases that replicas agree on. */
export const NOW_MS = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint';

/**
 * Connects to `url` (a pool of connections) and brings the schema up to date, under an advisory
 * lock so that replicas starting together migrate once.
 */
export async function openPgDatabase(url: string): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, types, max: 10 });
  // An idle connection that fails (the server restarted) must not crash the process; the next
  // query gets a fresh connection.
  pool.on('error', () => {});
  try {
    await migrate(pool);
    return pool;
  } catch (err) {
    await pool.end();
    throw err;
  }
}

async function migrate(pool: pg.Pool): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
    const version = rows[0].version ?? 0;
    if (version > MIGRATIONS.length) throw new Error(`the batch database has schema version ${version}; this qwen3-serve knows versions up to ${MIGRATIONS.length}`);
    for (let next = version; next < MIGRATIONS.length; next++) {
      await client.query(MIGRATIONS[next]);
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [next + 1]);
    }
  });
}

/** Runs `work` in one transaction on one connection: committed if it returns, rolled back if it throws. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** The URL without its password, for logs and errors. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}
