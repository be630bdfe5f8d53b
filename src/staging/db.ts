import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { ConfigError, PartnersyncError } from '../errors.js';
import { redact } from '../config/secrets.js';
import { migrationSource } from './migrations/index.js';

export type Dialect = 'sqlite' | 'postgres';

/**
 * The staging database: the only module that creates knex instances. Everything else gets a
 * `Staging` and writes SQL that runs unchanged on SQLite and Postgres (tests run both).
 *
 * @example
 *   const staging = await openStaging('sqlite:.partnersync/staging.db', { baseDir: process.cwd() });
 *   await staging.db('runs').select('*');
 *   await staging.close();
 */
export interface Staging {
  db: Knex;
  dialect: Dialect;
  /** The URL with any password redacted, for messages. */
  displayUrl: string;
  /** SQLite only: the database file (absolute), or ':memory:'. */
  file?: string;
  close(): Promise<void>;
}

export interface OpenStagingOptions {
  /** Relative SQLite paths resolve against this folder (the config file's). */
  baseDir?: string;
  /** Run pending migrations (default true). */
  migrate?: boolean;
}

export function parseStagingUrl(url: string, baseDir = process.cwd()): { dialect: Dialect; file?: string; connection?: string; schema?: string } {
  if (url.startsWith('sqlite:')) {
    const rest = url.slice('sqlite:'.length).replace(/^\/\//, '');
    if (!rest) throw new ConfigError(['staging.url: sqlite: needs a file name, e.g. sqlite:.partnersync/staging.db']);
    return { dialect: 'sqlite', file: rest === ':memory:' ? rest : path.resolve(baseDir, rest) };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const u = new URL(url);
    // `?schema=name` keeps partnersync's tables in their own schema (tests use one schema each).
    const schema = u.searchParams.get('schema') ?? undefined;
    u.searchParams.delete('schema');
    return { dialect: 'postgres', connection: u.toString(), schema };
  }
  throw new ConfigError([`staging.url: unsupported URL "${redact(url)}" (use sqlite:<file> or postgres://…)`]);
}

export async function openStaging(url: string, opts: OpenStagingOptions = {}): Promise<Staging> {
  const parsed = parseStagingUrl(url, opts.baseDir);
  let db: Knex;
  if (parsed.dialect === 'sqlite') {
    if (parsed.file !== ':memory:') fs.mkdirSync(path.dirname(parsed.file!), { recursive: true });
    db = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: parsed.file! },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        afterCreate: (conn: { pragma(s: string): unknown }, done: (err: Error | null, conn: unknown) => void) => {
          // WAL lets readers (status, match review) work while a run writes; busy_timeout waits out short locks.
          conn.pragma('journal_mode = WAL');
          conn.pragma('synchronous = NORMAL');
          conn.pragma('busy_timeout = 10000');
          conn.pragma('foreign_keys = ON');
          done(null, conn);
        },
      },
    });
  } else {
    db = knexFactory({
      client: 'pg',
      connection: parsed.connection!,
      searchPath: parsed.schema ? [parsed.schema, 'public'] : undefined,
      pool: { min: 0, max: 8 },
    });
    if (parsed.schema) {
      try {
        await db.raw('CREATE SCHEMA IF NOT EXISTS ??', [parsed.schema]);
      } catch (err) {
        await db.destroy();
        throw connectError(url, err);
      }
    }
  }
  const staging: Staging = {
    db,
    dialect: parsed.dialect,
    displayUrl: redact(url),
    file: parsed.file,
    close: () => db.destroy(),
  };
  if (opts.migrate !== false) {
    try {
      await db.migrate.latest({ migrationSource, tableName: 'partnersync_migrations' });
    } catch (err) {
      await db.destroy();
      throw connectError(url, err);
    }
  }
  return staging;
}

function connectError(url: string, err: unknown): PartnersyncError {
  const e = err as { code?: string; message?: string };
  const msg = redact(String(e?.message ?? err));
  const hint = e?.code === 'ECONNREFUSED'
    ? 'is PostgreSQL running? Start it, or use the embedded default staging.url: sqlite:.partnersync/staging.db'
    : undefined;
  return new PartnersyncError(`Cannot open the staging database ${redact(url)}: ${msg}`, { code: 'STAGING_UNAVAILABLE', hint, cause: err });
}

/** The dialect of a knex instance made by `openStaging` (for code handed `staging.db` alone). */
export function dialectOf(db: Knex): Dialect {
  return (db.client as { config: { client?: unknown } }).config.client === 'better-sqlite3' ? 'sqlite' : 'postgres';
}

/**
 * Runs `fn` on the driver's own connection (better-sqlite3's Database, pg's Client), borrowed from knex's
 * pool and returned: the same single connection, and the same transaction discipline, as every other
 * query. For work where knex's per-query compile step costs more than the statement: prepared statements
 * run many times, a script's statements in a row.
 *
 * @example
 *   await withDriverConnection<Database>(staging.db, (conn) => conn.prepare('SELECT 1').get());
 */
export async function withDriverConnection<C, T>(db: Knex, fn: (conn: C) => T | Promise<T>): Promise<T> {
  const client = db.client as { acquireConnection(): Promise<C>; releaseConnection(c: C): Promise<void> };
  const conn = await client.acquireConnection();
  try {
    return await fn(conn);
  } finally {
    await client.releaseConnection(conn);
  }
}

/**
 * Runs `fn` in a transaction on a pg connection borrowed with `withDriverConnection`: `begin` (a plain
 * BEGIN, or one with an isolation level), then COMMIT, or ROLLBACK when `fn` throws, which leaves the
 * connection usable for the pool; `fn`'s own error is the one thrown.
 *
 * @example
 *   await withDriverConnection<pg.Client, void>(db, (conn) => inPgTransaction(conn, async () => { await conn.query(sql); }));
 */
export async function inPgTransaction<T>(conn: { query(sql: string): Promise<unknown> }, fn: () => Promise<T>, begin = 'BEGIN'): Promise<T> {
  await conn.query(begin);
  try {
    const out = await fn();
    await conn.query('COMMIT');
    return out;
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Portable "now" as an ISO-8601 string: stored as text on both dialects so comparisons sort the same. */
export const nowIso = (): string => new Date().toISOString();
