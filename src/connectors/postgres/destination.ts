import pg from 'pg';
import { AuthError, FatalError, RetriableError } from '../../errors.js';
import { redact } from '../../config/secrets.js';
import type { Destination, DestinationCapabilities, FieldCheck, WriteBatch, WriteOperation, WriteResult } from '../types.js';
import { groupByFieldSet } from '../shared/field-set-groups.js';
import type { PostgresConfig } from './config.js';

/**
 * Postgres as a push destination: `INSERT … ON CONFLICT (key) DO UPDATE` into `<schema>.<object>`,
 * which preflight creates when missing (key column as primary key) and extends with missing columns
 * under `--create-missing-fields`. Rows travel as one JSON parameter expanded by
 * `jsonb_populate_recordset(null::table, …)`, so Postgres converts every value to its column's
 * type; a value that does not convert fails the statement and the engine bisects down to that row.
 * One write is one transaction: it lands whole or not at all, and resending it is harmless.
 */
const PG_TYPES = { string: 'text', number: 'double precision', boolean: 'boolean', datetime: 'timestamptz' } as const;
// Connection loss, shutdown, serialization failure, deadlock, too many connections: worth retrying.
const RETRIABLE = /^(08|57P0[123]|40001|40P01|53300|53400)/;

export class PostgresDestination implements Destination {
  readonly capabilities: DestinationCapabilities;
  private client: pg.Client | undefined;
  /** Tables found missing by preflight: the DDL the first write runs. */
  private readonly toCreate = new Map<string, string[]>();

  constructor(private readonly config: PostgresConfig) {
    this.capabilities = { maxBatch: Math.min(config.batchSize, 1000), operations: ['upsert', 'update', 'create', 'delete'], concurrency: 1 };
  }

  private table(object: string): string {
    return `${ident(this.config.schema)}.${ident(object)}`;
  }

  private async db(): Promise<pg.Client> {
    if (this.client) return this.client;
    // Timestamps stay text: a JS Date would drop microseconds.
    const client = new pg.Client({ connectionString: this.config.url, types: { getTypeParser: ((oid: number, f?: 'text') => ([1082, 1114, 1184].includes(oid) ? (v: string) => v : pg.types.getTypeParser(oid, f as 'text'))) as typeof pg.types.getTypeParser } });
    client.on('error', () => {
      // A dropped connection surfaces on the next query; forget this client so it reconnects.
      if (this.client === client) this.client = undefined;
    });
    try {
      await client.connect();
    } catch (err) {
      throw mapError(err, 'connect');
    }
    this.client = client;
    return client;
  }

  private async query(sql: string, params?: unknown[]): Promise<pg.QueryResult> {
    const client = await this.db();
    try {
      return await client.query(sql, params);
    } catch (err) {
      const mapped = mapError(err, 'query');
      if (mapped instanceof RetriableError) {
        this.client = undefined;
        await client.end().catch(() => undefined);
      }
      throw mapped;
    }
  }

  async check(): Promise<void> {
    await this.query('select 1');
  }

  async preflight(object: string, fields: Array<{ name: string; type: keyof typeof PG_TYPES }>, create: boolean, key?: { field: string; operation: WriteOperation }): Promise<FieldCheck> {
    const keyField = key?.field ?? 'id';
    const existing = await this.columns(object);
    const created: string[] = [];
    if (existing.size === 0) {
      // "Created if missing": the table is ours to create, with columns from the mapping. It is
      // created by the first write, so a dry run (which only preflights) changes nothing.
      const defs = [`${ident(keyField)} text primary key`, ...fields.filter((f) => f.name !== keyField).map((f) => `${ident(f.name)} ${PG_TYPES[f.type]}`)];
      this.toCreate.set(object, [`create schema if not exists ${ident(this.config.schema)}`, `create table if not exists ${this.table(object)} (${defs.join(', ')})`]);
      return { missing: [], created: [] };
    }
    if (!existing.has(keyField)) return { missing: [keyField], created: [], hints: [`${this.table(object)} has no key column "${keyField}"`] };
    const unique = await this.query(
      `select 1 from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
       where i.indrelid = $1::regclass and i.indisunique and i.indnatts = 1 and a.attname = $2`,
      [`${ident(this.config.schema)}.${ident(object)}`, keyField],
    );
    if (unique.rowCount === 0) {
      throw new FatalError(`${this.table(object)}.${keyField} is not unique: partnersync upserts by it`, { hint: `add a unique constraint: alter table ${this.table(object)} add unique (${ident(keyField)})` });
    }
    const missing = fields.filter((f) => !existing.has(f.name));
    if (missing.length && create) {
      for (const f of missing) await this.query(`alter table ${this.table(object)} add column if not exists ${ident(f.name)} ${PG_TYPES[f.type]}`);
      created.push(...missing.map((f) => f.name));
      return { missing: [], created };
    }
    return { missing: missing.map((f) => f.name), created };
  }

  private async columns(object: string): Promise<Set<string>> {
    const r = await this.query('select column_name from information_schema.columns where table_schema = $1 and table_name = $2', [this.config.schema, object]);
    return new Set(r.rows.map((x) => String(x.column_name)));
  }

  async write(batch: WriteBatch): Promise<WriteResult[]> {
    const k = batch.keyField;
    const table = this.table(batch.object);
    const rowType = `null::${table}`;
    // Records may carry different field sets (skip-nulls): one statement per set, so an absent
    // field is never written as null.
    const groups = groupByFieldSet(batch.records);
    const results = new Map<string, WriteResult>();
    const ddl = this.toCreate.get(batch.object);
    if (ddl) {
      for (const sql of ddl) await this.query(sql);
      this.toCreate.delete(batch.object);
    }
    const client = await this.db();
    await this.query('begin');
    try {
      for (const recs of groups) {
        const cols = Object.keys(recs[0]!.fields).filter((c) => c !== k);
        const json = JSON.stringify(recs.map((r) => ({ ...r.fields, [k]: r.key })));
        const keys = recs.map((r) => r.key);
        const all = [k, ...cols].map(ident).join(', ');
        switch (batch.operation) {
          case 'upsert': {
            const sets = cols
              .filter((c) => batch.fieldModes?.[c] !== 'onCreate')
              .map((c) => (batch.fieldModes?.[c] === 'ifEmpty' ? `${ident(c)} = coalesce(t.${ident(c)}, excluded.${ident(c)})` : `${ident(c)} = excluded.${ident(c)}`));
            if (sets.length === 0) sets.push(`${ident(k)} = excluded.${ident(k)}`);
            const r = await this.query(
              `insert into ${table} as t (${all}) select ${all} from jsonb_populate_recordset(${rowType}, $1::jsonb)
               on conflict (${ident(k)}) do update set ${sets.join(', ')} returning ${ident(k)}::text as k, (xmax = 0) as inserted`,
              [json],
            );
            for (const row of r.rows) results.set(row.k, { key: row.k, ok: true, destinationId: row.k, created: row.inserted === true });
            break;
          }
          case 'create': {
            const r = await this.query(
              `insert into ${table} (${all}) select ${all} from jsonb_populate_recordset(${rowType}, $1::jsonb) on conflict (${ident(k)}) do nothing returning ${ident(k)}::text as k`,
              [json],
            );
            for (const row of r.rows) results.set(row.k, { key: row.k, ok: true, destinationId: row.k, created: true });
            for (const key of keys) if (!results.has(key)) results.set(key, { key, ok: false, code: 'DUPLICATE', message: 'a row with this key exists' });
            break;
          }
          case 'update': {
            const sets = cols
              .filter((c) => batch.fieldModes?.[c] !== 'onCreate')
              .map((c) => (batch.fieldModes?.[c] === 'ifEmpty' ? `${ident(c)} = coalesce(t.${ident(c)}, s.${ident(c)})` : `${ident(c)} = s.${ident(c)}`));
            if (sets.length === 0) sets.push(`${ident(k)} = s.${ident(k)}`);
            const r = await this.query(
              `update ${table} as t set ${sets.join(', ')} from jsonb_populate_recordset(${rowType}, $1::jsonb) as s where t.${ident(k)} = s.${ident(k)} returning t.${ident(k)}::text as k`,
              [json],
            );
            for (const row of r.rows) results.set(row.k, { key: row.k, ok: true, destinationId: row.k });
            for (const key of keys) if (!results.has(key)) results.set(key, { key, ok: false, code: 'NOT_FOUND', message: 'no row with this key' });
            break;
          }
          case 'delete': {
            const r = await this.query(`delete from ${table} where ${ident(k)}::text = any($1::text[]) returning ${ident(k)}::text as k`, [keys]);
            for (const row of r.rows) results.set(row.k, { key: row.k, ok: true });
            for (const key of keys) if (!results.has(key)) results.set(key, { key, ok: false, code: 'NOT_FOUND', message: 'no row with this key' });
            break;
          }
          default:
            for (const key of keys) results.set(key, { key, ok: false, code: 'UNSUPPORTED', message: `postgres cannot ${batch.operation}` });
        }
      }
      await this.query('commit');
    } catch (err) {
      if (this.client === client) await client.query('rollback').catch(() => undefined);
      throw err;
    }
    return batch.records.map((r) => results.get(r.key) ?? { key: r.key, ok: false, code: 'NO_RESULT', message: 'not returned by the statement' });
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function mapError(err: unknown, phase: 'connect' | 'query'): Error {
  const e = err as { code?: string; message?: string };
  const message = `Postgres: ${redact(String(e.message ?? err))}`;
  if (e.code === '28P01' || e.code === '28000') return new AuthError(message, { cause: err });
  if ((e.code && RETRIABLE.test(e.code)) || (phase === 'connect' && !e.code?.match(/^[0-9A-Z]{5}$/))) return new RetriableError(message, { cause: err });
  if (e.code && /^[0-9A-Z]{5}$/.test(e.code)) return new FatalError(message, { code: `PG_${e.code}`, cause: err });
  // Network errors (ECONNRESET…) pass through unchanged: the engine retries them.
  return err instanceof Error ? err : new Error(String(err));
}
