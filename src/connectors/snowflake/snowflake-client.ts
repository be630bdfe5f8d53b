import snowflake from 'snowflake-sdk';
import { AuthError, FatalError, RetriableError } from '../../errors.js';
import { redact } from '../../config/secrets.js';
import type { SqlClient } from '../shared/sql-source.js';
import type { SnowflakeConfig } from './config.js';

export type SnowflakeConnection = ReturnType<typeof snowflake.createConnection>;
let configured = false;

/**
 * One connected snowflake-sdk connection for a configured account: the connect code the source
 * and the destination share. The sdk's own logger is silenced once per process. A failed connect
 * rejects with `mapError(err)`: reading and pushing classify Snowflake's errors differently.
 *
 * @example
 *   const conn = await openSnowflakeConnection(config, mapError);
 *   conn.execute({ sqlText: 'select 1', complete: (err, _stmt, rows) => … });
 */
export async function openSnowflakeConnection(c: SnowflakeConfig, mapError: (err: unknown) => Error): Promise<SnowflakeConnection> {
  if (!configured) {
    snowflake.configure({ logLevel: 'OFF' } as never);
    configured = true;
  }
  const conn = snowflake.createConnection({
    account: c.account,
    username: c.username,
    password: c.password,
    database: c.database,
    schema: c.schema,
    ...(c.warehouse ? { warehouse: c.warehouse } : {}),
    ...(c.role ? { role: c.role } : {}),
    ...(c.accessUrl ? { accessUrl: c.accessUrl } : {}),
  } as never);
  await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(mapError(err)) : resolve())));
  return conn;
}

/**
 * snowflake-sdk behind the narrow SqlClient interface, for reading. Dates and timestamps come back
 * as Snowflake's own text (`fetchAsString`): a keyset cursor must round-trip exactly, and a JS Date
 * would drop sub-millisecond digits. Column names come back lower-cased, as staging stores them.
 */
export async function connectSnowflake(c: SnowflakeConfig): Promise<SqlClient> {
  const conn = await openSnowflakeConnection(c, mapError);
  return {
    query: (sqlText, binds) =>
      new Promise((resolve, reject) =>
        conn.execute({
          sqlText,
          ...(binds.length ? { binds: binds as never } : {}),
          fetchAsString: ['Date'] as never,
          complete: (err, _stmt, rows) => {
            if (err) return reject(mapError(err));
            resolve(((rows ?? []) as Array<Record<string, unknown>>).map(lowerKeys));
          },
        }),
      ),
    close: () => new Promise<void>((resolve) => conn.destroy(() => resolve())),
  };
}

function lowerKeys(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in row) out[k.toLowerCase()] = row[k];
  return out;
}

function mapError(err: unknown): Error {
  const e = err as { code?: string | number; sqlState?: string; message?: string };
  const code = e.code === undefined ? undefined : String(e.code);
  const message = `Snowflake: ${redact(String(e.message ?? err))}`;
  if (code === '390100' || code === '390144' || code === '390318') return new AuthError(message, { cause: err });
  if (e.sqlState?.startsWith('08') || /^(ECONNRESET|ETIMEDOUT|ECONNREFUSED|EPIPE)$/.test(code ?? '') || /network|timeout|socket/i.test(String(e.message))) {
    return new RetriableError(message, { cause: err });
  }
  return new FatalError(message, { code: code ? `SF_${code}` : 'SNOWFLAKE_ERROR', cause: err });
}
