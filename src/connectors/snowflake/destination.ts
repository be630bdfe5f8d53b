import { AuthError, FatalError, RetriableError } from '../../errors.js';
import { redact } from '../../config/secrets.js';
import type { Destination, DestinationCapabilities, FieldCheck, WriteBatch, WriteOperation, WriteResult } from '../types.js';
import { groupByFieldSet } from '../shared/field-set-groups.js';
import type { SnowflakeConfig } from './config.js';
import { openSnowflakeConnection, type SnowflakeConnection } from './snowflake-client.js';

/**
 * Snowflake as a push destination: one `MERGE INTO <object> USING (VALUES …)` per write, into a
 * table that preflight creates when missing (columns from the mapping) and extends under
 * `--create-missing-fields`. MERGE by the key is idempotent, so a write resent after a lost answer
 * changes nothing. Names follow Snowflake's rule for unquoted identifiers (upper case).
 */
const SF_TYPES = { string: 'VARCHAR', number: 'FLOAT', boolean: 'BOOLEAN', datetime: 'TIMESTAMP_LTZ' } as const;
// Bound values per statement stay well under what the service (and the emulator) accepts.
const MAX_BINDS = 15_000;

export class SnowflakeDestination implements Destination {
  readonly capabilities: DestinationCapabilities;
  private conn: SnowflakeConnection | undefined;
  private readonly toCreate = new Map<string, string>();

  constructor(private readonly config: SnowflakeConfig) {
    this.capabilities = { maxBatch: Math.min(config.batchSize, 500), operations: ['upsert', 'update', 'create', 'delete'], concurrency: 1 };
  }

  private async connection(): Promise<SnowflakeConnection> {
    if (this.conn) return this.conn;
    const conn = await openSnowflakeConnection(this.config, mapError);
    this.conn = conn;
    return conn;
  }

  private async exec(sqlText: string, binds: unknown[] = []): Promise<Array<Record<string, unknown>>> {
    const conn = await this.connection();
    return new Promise((resolve, reject) =>
      conn.execute({
        sqlText,
        ...(binds.length ? { binds: binds as never } : {}),
        complete: (err, _stmt, rows) => (err ? reject(mapError(err)) : resolve((rows ?? []) as Array<Record<string, unknown>>)),
      }),
    );
  }

  async check(): Promise<void> {
    await this.exec('select 1 as ok');
  }

  async preflight(object: string, fields: Array<{ name: string; type: keyof typeof SF_TYPES }>, create: boolean, key?: { field: string; operation: WriteOperation }): Promise<FieldCheck> {
    const table = name(object);
    const keyCol = name(key?.field ?? 'id');
    const rows = await this.exec('select column_name from information_schema.columns where table_schema = ? and table_name = ?', [this.config.schema.toUpperCase(), table]);
    const existing = new Set(rows.map((r) => String(r.COLUMN_NAME)));
    if (existing.size === 0) {
      // Created by the first write (a dry run only preflights, and must change nothing).
      const defs = [`${keyCol} VARCHAR NOT NULL`, ...fields.filter((f) => name(f.name) !== keyCol).map((f) => `${name(f.name)} ${SF_TYPES[f.type]}`), `PRIMARY KEY (${keyCol})`];
      this.toCreate.set(table, `create table if not exists ${table} (${defs.join(', ')})`);
      return { missing: [], created: [] };
    }
    if (!existing.has(keyCol)) return { missing: [key?.field ?? 'id'], created: [], hints: [`${table} has no key column ${keyCol}`] };
    const missing = fields.filter((f) => !existing.has(name(f.name)));
    if (missing.length && create) {
      for (const f of missing) await this.exec(`alter table ${table} add column ${name(f.name)} ${SF_TYPES[f.type]}`);
      return { missing: [], created: missing.map((f) => f.name) };
    }
    return { missing: missing.map((f) => f.name), created: [] };
  }

  async write(batch: WriteBatch): Promise<WriteResult[]> {
    const table = name(batch.object);
    const k = name(batch.keyField);
    const results = new Map<string, WriteResult>();
    const ddl = this.toCreate.get(table);
    if (ddl) {
      await this.exec(ddl);
      this.toCreate.delete(table);
    }
    // One statement per field set (skip-nulls leaves fields out; an absent field must not become null).
    for (const recs of groupByFieldSet(batch.records)) {
      const fields = Object.keys(recs[0]!.fields).filter((f) => name(f) !== k);
      const per = Math.max(1, Math.floor(MAX_BINDS / (fields.length + 1)));
      for (let i = 0; i < recs.length; i += per) await this.writeGroup(batch, table, k, fields, recs.slice(i, i + per), results);
    }
    return batch.records.map((r) => results.get(r.key) ?? { key: r.key, ok: false, code: 'NO_RESULT', message: 'not returned by the statement' });
  }

  private async writeGroup(batch: WriteBatch, table: string, k: string, fields: string[], recs: WriteBatch['records'], results: Map<string, WriteResult>): Promise<void> {
    const keys = recs.map((r) => r.key);
    const found = await this.exec(`select ${k} as K from ${table} where ${k} in (${keys.map(() => '?').join(', ')})`, keys);
    const existed = new Set(found.map((r) => String(r.K)));
    const op = batch.operation;
    if (op === 'delete') {
      if (existed.size) await this.exec(`delete from ${table} where ${k} in (${[...existed].map(() => '?').join(', ')})`, [...existed]);
      for (const key of keys) results.set(key, existed.has(key) ? { key, ok: true } : { key, ok: false, code: 'NOT_FOUND', message: 'no row with this key' });
      return;
    }
    if (op !== 'upsert' && op !== 'update' && op !== 'create') {
      for (const key of keys) results.set(key, { key, ok: false, code: 'UNSUPPORTED', message: `snowflake cannot ${op}` });
      return;
    }
    const cols = [k, ...fields.map(name)];
    const values = recs.map(() => `(${cols.map(() => '?').join(', ')})`).join(', ');
    const binds = recs.flatMap((r) => [r.key, ...fields.map((f) => bindValue(r.fields[f]))]);
    const select = cols.map((c, i) => `column${i + 1} as ${c}`).join(', ');
    const sets = fields
      .filter((f) => batch.fieldModes?.[f] !== 'onCreate')
      .map((f) => (batch.fieldModes?.[f] === 'ifEmpty' ? `t.${name(f)} = coalesce(t.${name(f)}, s.${name(f)})` : `t.${name(f)} = s.${name(f)}`));
    const matched = op !== 'create' && sets.length ? ` when matched then update set ${sets.join(', ')}` : '';
    const insert = op !== 'update' ? ` when not matched then insert (${cols.join(', ')}) values (${cols.map((c) => `s.${c}`).join(', ')})` : '';
    if (matched || insert) {
      await this.exec(`merge into ${table} t using (select ${select} from values ${values}) s on t.${k} = s.${k}${matched}${insert}`, binds);
    }
    for (const key of keys) {
      if (op === 'create' && existed.has(key)) results.set(key, { key, ok: false, code: 'DUPLICATE', message: 'a row with this key exists' });
      else if (op === 'update' && !existed.has(key)) results.set(key, { key, ok: false, code: 'NOT_FOUND', message: 'no row with this key' });
      else results.set(key, { key, ok: true, destinationId: key, created: !existed.has(key) });
    }
  }

  async close(): Promise<void> {
    const c = this.conn;
    this.conn = undefined;
    if (c) await new Promise<void>((resolve) => c.destroy(() => resolve()));
  }
}

/** Snowflake folds unquoted identifiers to upper case; anything else would need quoting everywhere. */
function name(n: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(n)) throw new FatalError(`"${n}" is not a plain Snowflake identifier (letters, digits, _ and $)`, { hint: 'rename the field or object in the target mapping' });
  return n.toUpperCase();
}

function bindValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return v;
}

function mapError(err: unknown): Error {
  const e = err as { code?: string | number; sqlState?: string; message?: string };
  const code = e.code === undefined ? undefined : String(e.code);
  const message = `Snowflake: ${redact(String(e.message ?? err))}`;
  if (code === '390100' || code === '390144' || code === '390318') return new AuthError(message, { cause: err });
  if (e.sqlState?.startsWith('08') || code === '000429' || /^(ECONNRESET|ETIMEDOUT|ECONNREFUSED|EPIPE)$/.test(code ?? '') || /network|timeout|socket|ECONNRESET/i.test(String(e.message))) {
    return new RetriableError(message, { cause: err, ...(code === '000429' ? { status: 429 } : {}) });
  }
  return new FatalError(message, { code: code ? `SF_${code}` : 'SNOWFLAKE_ERROR', cause: err });
}
