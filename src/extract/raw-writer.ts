import type { Knex } from 'knex';
import type { Staging } from '../staging/db.js';
import { ensureRawTable } from '../staging/raw-tables.js';
import { rejectRow, type Reject } from '../staging/rejects.js';
import { paramsHash, type StateKey } from '../staging/state.js';

/**
 * Writes one batch into staging in ONE transaction: raw rows (new or changed only), tombstones,
 * rejects and the stream's checkpoint state. Either all of it is in staging or none of it is, which
 * is what makes a crash at any point safe: state never runs ahead of the rows it covers.
 *
 * Two implementations, the same SQL semantics: SQLite goes through better-sqlite3 prepared
 * statements on the pool's single connection (a knex query per row costs ~20× more and the CSV
 * bench has to stay near the sqlite3 shell's own `.import`), Postgres through knex.
 */
export interface PreparedRow {
  key: string;
  hash: string;
  /** Normalised raw columns, without bookkeeping columns. */
  row: Record<string, string | null>;
}

export interface BatchToCommit {
  table: string;
  /** Deduplicated by key: the last record of a key in the batch wins. */
  records: Map<string, PreparedRow>;
  /** Tombstones by key: `row` holds the key columns. */
  deletes: Map<string, PreparedRow>;
  rejects: Reject[];
  /** When set, saved under `stateKey` in the same transaction. */
  state?: { key: StateKey; value: unknown };
  /** `--full-refresh`: remove the stream's rows first (in this transaction, so a crash before it keeps the old rows). */
  clearFirst?: boolean;
  runId: string;
  extractedAt: string;
}

export interface BatchCounts {
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
}

export interface RawWriter {
  commit(batch: BatchToCommit): Promise<BatchCounts>;
}

export function createRawWriter(staging: Staging): RawWriter {
  return staging.dialect === 'sqlite' ? new SqliteRawWriter(staging.db) : new KnexRawWriter(staging.db);
}

function columnsOf(batch: BatchToCommit): Set<string> {
  const cols = new Set<string>();
  for (const r of batch.records.values()) for (const c of Object.keys(r.row)) cols.add(c);
  for (const r of batch.deletes.values()) for (const c of Object.keys(r.row)) cols.add(c);
  return cols;
}

function stateRow(batch: BatchToCommit): Record<string, unknown> | undefined {
  if (!batch.state) return undefined;
  const { key, value } = batch.state;
  return { connection: key.connection, stream: key.stream, params_hash: paramsHash(key.params), state: JSON.stringify(value), updated_at: batch.extractedAt, run_id: batch.runId };
}

const TOMBSTONE = 'tombstone';

interface SqliteStatement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  raw(on?: boolean): SqliteStatement;
}
interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
  transaction<F extends (...args: never[]) => unknown>(fn: F): F;
  pragma(sql: string): unknown;
}

/** Rows per multi-row upsert: bounded by SQLite's 32,766 bind parameters. */
const SQLITE_ROWS_PER_STATEMENT = 64;
const SQLITE_MAX_PARAMS = 32_000;

class SqliteRawWriter implements RawWriter {
  private statements = new Map<string, SqliteStatement>();
  private conn: SqliteConnection | undefined;
  /** Per table: whether the last batch found none of its keys already there. */
  private onlyNewKeys = new Map<string, boolean>();

  constructor(private db: Knex) {}

  private stmt(conn: SqliteConnection, sql: string): SqliteStatement {
    if (this.conn !== conn) {
      this.statements.clear();
      this.conn = conn;
      // A bigger page cache (default 2 MiB) keeps more of the raw table's _key index in memory:
      // keys arrive in no particular text order, so each batch touches index pages all over it.
      // 16 MiB is ~8% less SQLite time on 1M rows; peak RSS has a 200 MB budget.
      conn.pragma('cache_size = -16384');
    }
    let s = this.statements.get(sql);
    if (!s) {
      // Statement SQL embeds table and column names; bound the cache for many-stream runs.
      if (this.statements.size >= 200) this.statements.clear();
      this.statements.set(sql, (s = conn.prepare(sql)));
    }
    return s;
  }

  async commit(batch: BatchToCommit): Promise<BatchCounts> {
    await ensureRawTable(this.db, batch.table, columnsOf(batch));
    // Compiled by knex so the SQL for the bookkeeping tables stays in one dialect-aware place.
    const st = stateRow(batch);
    const stateSql = st
      ? this.db('sync_state').insert(st).onConflict(['connection', 'stream', 'params_hash']).merge(['state', 'updated_at', 'run_id']).toSQL().toNative()
      : undefined;
    const rejectSql = batch.rejects.map((r) => this.db('rejects').insert(rejectRow(r)).toSQL().toNative());

    const client = this.db.client as { acquireConnection(): Promise<SqliteConnection>; releaseConnection(c: SqliteConnection): Promise<void> };
    const conn = await client.acquireConnection();
    try {
      const t = quoteIdent(batch.table);
      const counts: BatchCounts = { inserted: 0, updated: 0, unchanged: 0, deleted: 0 };
      const run = conn.transaction(() => {
        if (batch.clearFirst) conn.prepare(`DELETE FROM ${t}`).run();
        // Rows by column set (a stream's rows nearly always share one).
        const groups = new Map<string, PreparedRow[]>();
        let lastSig = '';
        let lastGroup: PreparedRow[] | undefined;
        for (const r of batch.records.values()) {
          let sig = '';
          for (const c in r.row) sig += `${c}\u0000`;
          if (sig !== lastSig || !lastGroup) {
            lastSig = sig;
            lastGroup = groups.get(sig);
            if (!lastGroup) groups.set(sig, (lastGroup = []));
          }
          lastGroup.push(r);
        }
        // Optimistic path while a table only receives new keys (a first extract, a backfill): plain
        // multi-row INSERTs, no lookup. The first key already there aborts that one statement
        // (SQLite backs it out, the transaction goes on) and the rest of the batch takes the lookup path.
        const rest: PreparedRow[][] = [];
        if (batch.clearFirst || this.onlyNewKeys.get(batch.table) !== false) {
          let conflict = false;
          for (const rows of groups.values()) {
            if (conflict) {
              rest.push(rows);
              continue;
            }
            const done = this.write(conn, t, rows, batch, 'insert');
            counts.inserted += done;
            if (done < rows.length) {
              conflict = true;
              rest.push(rows.slice(done));
            }
          }
          this.onlyNewKeys.set(batch.table, !conflict);
        } else {
          rest.push(...groups.values());
        }
        // Otherwise one lookup for the batch (keys passed as one JSON array) instead of a SELECT per
        // row; new and changed rows then go through multi-row upserts.
        const existing = new Map<string, { hash: string; deleted: boolean }>();
        const lookupKeys: string[] = [];
        for (const rows of rest) for (const r of rows) lookupKeys.push(r.key);
        if (!batch.clearFirst) for (const k of batch.deletes.keys()) lookupKeys.push(k);
        if (lookupKeys.length > 0) {
          const lookup = this.stmt(conn, `SELECT t._key, t._hash, t._deleted FROM json_each(?) AS j CROSS JOIN ${t} AS t ON t._key = j.value`).raw(true);
          for (const r of lookup.all(JSON.stringify(lookupKeys)) as Array<[string, string, number]>) existing.set(r[0], { hash: r[1], deleted: Number(r[2]) === 1 });
        }
        let found = 0;
        for (const rows of rest) {
          const writes: PreparedRow[] = [];
          for (const r of rows) {
            const e = existing.get(r.key);
            if (e) found++;
            if (e && e.hash === r.hash && !e.deleted) {
              counts.unchanged++;
              continue;
            }
            if (e) counts.updated++;
            else counts.inserted++;
            writes.push(r);
          }
          if (writes.length > 0) this.write(conn, t, writes, batch, 'upsert');
        }
        // A batch of new keys only: try the optimistic path again with the next one.
        if (rest.length > 0 && found === 0) this.onlyNewKeys.set(batch.table, true);
        for (const d of batch.deletes.values()) {
          const e = existing.get(d.key);
          if (e?.deleted) continue;
          if (e) {
            this.stmt(conn, `UPDATE ${t} SET _deleted = 1, _hash = ?, _extracted_at = ?, _run_id = ? WHERE _key = ?`).run(TOMBSTONE, batch.extractedAt, batch.runId, d.key);
          } else {
            const cols = Object.keys(d.row);
            const names = [...cols.map(quoteIdent), '_key', '_hash', '_extracted_at', '_run_id', '_deleted'];
            this.stmt(conn, `INSERT INTO ${t} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`)
              .run(...cols.map((c) => d.row[c]), d.key, TOMBSTONE, batch.extractedAt, batch.runId, 1);
          }
          counts.deleted++;
        }
        for (const q of rejectSql) conn.prepare(q.sql).run(...q.bindings);
        if (stateSql) conn.prepare(stateSql.sql).run(...stateSql.bindings);
      });
      run();
      return counts;
    } finally {
      await client.releaseConnection(conn);
    }
  }

  /**
   * Write rows sharing one column set, `per` rows per statement (one native call and one statement
   * execution instead of `per`), the remainder one at a time. `upsert` inserts or replaces;
   * `insert` stops at the first statement that hits an existing key and returns how many rows (a
   * prefix of `rows`) it wrote.
   */
  private write(conn: SqliteConnection, t: string, rows: PreparedRow[], batch: BatchToCommit, mode: 'insert' | 'upsert'): number {
    const cols = Object.keys(rows[0]!.row);
    const width = cols.length + 5;
    const names = [...cols.map(quoteIdent), '_key', '_hash', '_extracted_at', '_run_id', '_deleted'];
    const tuple = `(${names.map(() => '?').join(', ')})`;
    const set = [...cols.map(quoteIdent), '_hash', '_extracted_at', '_run_id', '_deleted'].map((c) => `${c} = excluded.${c}`).join(', ');
    const tail = mode === 'upsert' ? ` ON CONFLICT(_key) DO UPDATE SET ${set}` : '';
    const sql = (n: number) => `INSERT INTO ${t} (${names.join(', ')}) VALUES ${Array<string>(n).fill(tuple).join(', ')}${tail}`;
    const per = Math.max(1, Math.min(SQLITE_ROWS_PER_STATEMENT, Math.floor(SQLITE_MAX_PARAMS / width)));
    const params: unknown[] = [];
    const push = (r: PreparedRow) => {
      for (let c = 0; c < cols.length; c++) params.push(r.row[cols[c]!]);
      params.push(r.key, r.hash, batch.extractedAt, batch.runId, 0);
    };
    const run = (s: SqliteStatement): boolean => {
      try {
        s.run(params);
        return true;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (mode === 'insert' && (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE')) return false;
        throw err;
      }
    };
    let i = 0;
    if (rows.length >= per) {
      const multi = this.stmt(conn, sql(per));
      for (; i + per <= rows.length; i += per) {
        params.length = 0;
        for (let j = i; j < i + per; j++) push(rows[j]!);
        if (!run(multi)) return i;
      }
    }
    if (i < rows.length) {
      const single = this.stmt(conn, sql(1));
      for (; i < rows.length; i++) {
        params.length = 0;
        push(rows[i]!);
        if (!run(single)) return i;
      }
    }
    return rows.length;
  }
}

class KnexRawWriter implements RawWriter {
  constructor(private db: Knex) {}

  async commit(batch: BatchToCommit): Promise<BatchCounts> {
    await ensureRawTable(this.db, batch.table, columnsOf(batch));
    const counts: BatchCounts = { inserted: 0, updated: 0, unchanged: 0, deleted: 0 };
    await this.db.transaction(async (trx) => {
      if (batch.clearFirst) await trx(batch.table).delete();
      const keys = [...new Set([...batch.records.keys(), ...batch.deletes.keys()])];
      const existing = new Map<string, { hash: string; deleted: boolean }>();
      for (let i = 0; i < keys.length; i += 1000) {
        const rows = await trx(batch.table).select('_key', '_hash', '_deleted').whereIn('_key', keys.slice(i, i + 1000));
        for (const r of rows) existing.set(r._key, { hash: r._hash, deleted: Number(r._deleted) === 1 });
      }
      const writes: Record<string, unknown>[] = [];
      for (const r of batch.records.values()) {
        const e = existing.get(r.key);
        if (e && e.hash === r.hash && !e.deleted) {
          counts.unchanged++;
          continue;
        }
        if (e) counts.updated++;
        else counts.inserted++;
        writes.push({ ...r.row, _key: r.key, _hash: r.hash, _extracted_at: batch.extractedAt, _run_id: batch.runId, _deleted: 0 });
      }
      await upsertRows(trx, batch.table, writes);
      const tombstones: Record<string, unknown>[] = [];
      for (const d of batch.deletes.values()) {
        const e = existing.get(d.key);
        if (e?.deleted) continue;
        counts.deleted++;
        if (e) {
          await trx(batch.table).where({ _key: d.key }).update({ _deleted: 1, _hash: TOMBSTONE, _extracted_at: batch.extractedAt, _run_id: batch.runId });
        } else {
          tombstones.push({ ...d.row, _key: d.key, _hash: TOMBSTONE, _extracted_at: batch.extractedAt, _run_id: batch.runId, _deleted: 1 });
        }
      }
      await upsertRows(trx, batch.table, tombstones);
      for (let i = 0; i < batch.rejects.length; i += 50) await trx('rejects').insert(batch.rejects.slice(i, i + 50).map(rejectRow));
      const st = stateRow(batch);
      if (st) await trx('sync_state').insert(st).onConflict(['connection', 'stream', 'params_hash']).merge(['state', 'updated_at', 'run_id']);
    });
    return counts;
  }
}

/** Multi-row upserts, grouped by column set and chunked under Postgres' 65,535 bind parameters. */
async function upsertRows(trx: Knex.Transaction, table: string, rows: Record<string, unknown>[]): Promise<void> {
  const groups = new Map<string, Record<string, unknown>[]>();
  for (const r of rows) {
    const sig = Object.keys(r).join('\u0000');
    let g = groups.get(sig);
    if (!g) groups.set(sig, (g = []));
    g.push(r);
  }
  for (const [sig, g] of groups) {
    const cols = sig.split('\u0000');
    const per = Math.max(1, Math.floor(60_000 / cols.length));
    for (let i = 0; i < g.length; i += per) {
      await trx(table).insert(g.slice(i, i + per)).onConflict('_key').merge(cols.filter((c) => c !== '_key'));
    }
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
