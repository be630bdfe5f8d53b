import { InputError } from '../../errors.js';
import type { ReadMessage, ReadOptions, Source, StreamDescriptor } from '../types.js';
import type { SqlStreamConfig } from './sql-stream-config.js';

/** The narrow interface a SQL source needs from a database client. */
export interface SqlClient {
  query(sql: string, params: unknown[]): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

export interface SqlDialect {
  /** `$1` (Postgres) or `?` (Snowflake). */
  placeholder(index: number): string;
  /** Quote an identifier when it is not a plain one; plain ones are left to the database's case folding. */
  ident(name: string): string;
}

export interface SqlState {
  v: 1;
  /** (cursor?, ...primaryKey) values of the last row committed; null = start over. */
  after: unknown[] | null;
}

export interface SqlSourceOptions {
  streams: Record<string, SqlStreamConfig>;
  schema?: string;
  batchSize: number;
  dialect: SqlDialect;
  connect(): Promise<SqlClient>;
}

const PLAIN = /^[A-Za-z_][A-Za-z0-9_$]*$/;

export function quoteWhenNeeded(name: string, quote = '"'): string {
  return PLAIN.test(name) ? name : `${quote}${name.split(quote).join(quote + quote)}${quote}`;
}

/** Value of a column in a row, matching case-insensitively (Snowflake returns UPPER_CASE names). */
export function columnValue(row: Record<string, unknown>, column: string): unknown {
  if (column in row) return row[column];
  const lower = column.toLowerCase();
  for (const k of Object.keys(row)) if (k.toLowerCase() === lower) return row[k];
  return undefined;
}

/**
 * A table or a query of a SQL database as a stream, read in keyset pages: `ORDER BY cursor, pk`
 * and `WHERE (cursor, pk) > (last seen)`, `LIMIT batchSize`. Each page is followed by a checkpoint
 * holding the last row's (cursor, pk) values, so a killed run resumes after the last committed page.
 *
 * - With `cursorField` (a column that only grows, e.g. updated_at) the state is kept across runs:
 *   the next run reads only rows whose (cursor, pk) is past the last one seen.
 * - Without it, every run reads the whole table (unchanged rows are not rewritten in staging); the
 *   state only serves to resume an interrupted read. With `snapshot: true` such a stream is a
 *   snapshot (StreamDescriptor.snapshot): a completed read tombstones the staged rows it did not return.
 * Rows whose cursor is NULL are never read incrementally. The (cursor, pk) comparison is spelled
 * out as ORs rather than a row-value comparison so the same SQL runs on Snowflake.
 */
export class SqlSource implements Source {
  private client: SqlClient | undefined;

  constructor(private opts: SqlSourceOptions) {
    for (const [name, s] of Object.entries(opts.streams)) {
      if (!s.table === !s.query) throw new InputError(`stream "${name}": set exactly one of table or query`);
    }
  }

  private async db(): Promise<SqlClient> {
    return (this.client ??= await this.opts.connect());
  }

  async check(): Promise<void> {
    await (await this.db()).query('SELECT 1 AS ok', []);
  }

  async discover(): Promise<StreamDescriptor[]> {
    return Object.entries(this.opts.streams).map(([name, s]) => ({
      name,
      primaryKey: s.primaryKey,
      cursorField: s.cursorField,
      ...(s.snapshot ? { snapshot: true } : {}),
      params: { table: s.table ?? null, query: s.query ?? null, schema: this.opts.schema ?? null, primaryKey: s.primaryKey, cursorField: s.cursorField ?? null },
    }));
  }

  /** The SQL of one page; exported through the class for tests and `--dry-run` style output. */
  pageSql(stream: SqlStreamConfig, after: unknown[] | null, since: Date | undefined): { sql: string; params: unknown[] } {
    const d = this.opts.dialect;
    const order = [...(stream.cursorField ? [stream.cursorField] : []), ...stream.primaryKey];
    const from = stream.table
      ? [...(this.opts.schema && !stream.table.includes('.') ? [this.opts.schema] : []), ...stream.table.split('.')].map((p) => d.ident(p)).join('.')
      : `(${stream.query!.replace(/;\s*$/, '')}) src`;
    const params: unknown[] = [];
    const bind = (v: unknown) => {
      params.push(v);
      return d.placeholder(params.length);
    };
    const where: string[] = [];
    if (after) {
      const ors: string[] = [];
      for (let i = 0; i < order.length; i++) {
        const ands = order.slice(0, i).map((c, j) => `${d.ident(c)} = ${bind(after[j])}`);
        ands.push(`${d.ident(order[i]!)} > ${bind(after[i])}`);
        ors.push(`(${ands.join(' AND ')})`);
      }
      where.push(`(${ors.join(' OR ')})`);
    } else if (since && stream.cursorField) {
      where.push(`${d.ident(stream.cursorField)} >= ${bind(since.toISOString())}`);
    }
    if (stream.cursorField && !after) where.push(`${d.ident(stream.cursorField)} IS NOT NULL`);
    const sql = `SELECT * FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order.map((c) => d.ident(c)).join(', ')} LIMIT ${this.opts.batchSize}`;
    return { sql, params };
  }

  async *read(stream: StreamDescriptor, opts: ReadOptions): AsyncGenerator<ReadMessage> {
    const cfg = this.opts.streams[stream.name];
    if (!cfg) throw new InputError(`no stream "${stream.name}"`);
    const order = [...(cfg.cursorField ? [cfg.cursorField] : []), ...cfg.primaryKey];
    const prev = opts.state as SqlState | undefined;
    let after: unknown[] | null = prev?.v === 1 ? prev.after : null;
    const db = await this.db();
    // A read from the first row starts a snapshot pass; a resumed one continues the saved pass.
    if (cfg.snapshot && after === null) yield { type: 'snapshot-start' };
    for (;;) {
      const { sql, params } = this.pageSql(cfg, after, opts.since);
      const rows = await db.query(sql, params);
      for (const row of rows) yield { type: 'record', record: row };
      if (rows.length > 0) after = order.map((c) => keysetValue(columnValue(rows[rows.length - 1]!, c)));
      const last = rows.length < this.opts.batchSize;
      // A full read without a cursor ends with `after: null`: the next run reads the table again.
      yield { type: 'checkpoint', state: { v: 1, after: last && !cfg.cursorField ? null : after } satisfies SqlState, ...(last && cfg.snapshot ? { snapshotEnd: true } : {}) };
      if (last || opts.signal?.aborted) return;
    }
  }

  async close(): Promise<void> {
    await this.client?.close();
    this.client = undefined;
  }
}

function keysetValue(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint') return v.toString();
  return v ?? null;
}
