import pg from 'pg';
import { AuthError, PartnersyncError } from '../../errors.js';
import { redact } from '../../config/secrets.js';
import type { SqlClient } from '../shared/sql-source.js';

// Timestamps stay text: a JS Date drops Postgres' microseconds, and a keyset cursor that loses
// precision re-reads or skips rows. 1082 date, 1114 timestamp, 1184 timestamptz, 1083 time, 1266 timetz.
const TEXT_TYPES = new Set([1082, 1114, 1184, 1083, 1266]);
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    TEXT_TYPES.has(oid) ? (v: string) => v : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** A Postgres client behind the narrow SqlClient interface (one connection, opened lazily). */
export async function connectPostgres(url: string): Promise<SqlClient> {
  const client = new pg.Client({ connectionString: url, types });
  try {
    await client.connect();
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === '28P01' || e.code === '28000') throw new AuthError(`Postgres refused the credentials: ${redact(String(e.message))}`, { cause: err });
    throw new PartnersyncError(`Cannot connect to Postgres ${redact(url)}: ${redact(String(e.message ?? err))}`, { code: 'SOURCE_UNAVAILABLE', cause: err });
  }
  return {
    async query(sql, params) {
      const r = await client.query(sql, params);
      return r.rows as Array<Record<string, unknown>>;
    },
    close: () => client.end(),
  };
}
