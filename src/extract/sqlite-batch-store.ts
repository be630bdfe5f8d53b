import { RAW_META_COLUMNS, RAW_SEEN_COLUMN } from '../staging/raw-tables.js';
import { quoteIdent } from '../staging/sql-ident.js';
import { sameContent } from './row-hash.js';

/**
 * One batch for SQLite staging as plain data (strings, numbers, arrays), so it can be handed to the
 * writer thread by structured clone as cheaply as it is used in-process.
 */
export interface WireBatch {
  table: string;
  /** The table's CREATE statements (createRawTableSql), run when it does not exist yet. */
  createTable: string[];
  /** Records by column set (a stream's rows nearly always share one), deduplicated by key. */
  groups: WireGroup[];
  /** Tombstones; `values` hold the key columns. */
  deletes: Array<{ cols: string[]; key: string; values: (string | null)[] }>;
  /** Compiled INSERTs into `rejects` and the `sync_state` upsert, run in the same transaction. */
  statements: Array<{ sql: string; bindings: unknown[] }>;
  clearFirst: boolean;
  runId: string;
  extractedAt: string;
  /**
   * A batch of a snapshot pass (StreamDescriptor.snapshot): its records, written or unchanged, get
   * `_seen = pass`; `complete` then tombstones every live row the pass did not see.
   */
  snapshot?: { pass: string; complete: boolean };
}

export interface WireGroup {
  cols: string[];
  /**
   * The column holding every row's key (a one-column primary key), or -1: then `keys` has them.
   * A key that is a column is not sent twice.
   */
  keyCol: number;
  keys: string[] | null;
  /** Row i's value of cols[c] is rows[i][c]. */
  rows: (string | null)[][];
  /**
   * Row i's content hash (row-hash.ts), computed by the sender: the reading thread has time to spare
   * while the writer thread is the bound of an extract.
   */
  hashes: string[];
}

/** Row i's key. */
function keyOf(g: WireGroup, i: number): string {
  return g.keyCol >= 0 ? g.rows[i]![g.keyCol]! : g.keys![i]!;
}

export interface BatchCounts {
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
}

/** The part of a better-sqlite3 connection the store uses (the knex pool's or the writer thread's own). */
export interface SqliteStatement {
  run(...params: unknown[]): { changes: number };
  all(...params: unknown[]): unknown[];
  raw(on?: boolean): SqliteStatement;
}
export interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
  transaction<F extends (...args: never[]) => unknown>(fn: F): F & { immediate: F };
  pragma(sql: string): unknown;
}

const TOMBSTONE = 'tombstone';
/** Rows per multi-row INSERT: one native call and one statement execution instead of 64. */
const ROWS_PER_STATEMENT = 64;
/**
 * Bound values per statement, at most. SQLite allows 32,766; they are passed to better-sqlite3 as
 * arguments (see `write`), which must stay well inside a thread's stack.
 */
const MAX_PARAMS = 4096;

/**
 * Commits batches into `raw_*` tables on one SQLite connection, everything of a batch in ONE
 * transaction: the table's creation or new columns, rows (new or changed only), tombstones, rejects,
 * a snapshot pass's seen markers and end-of-pass tombstones, and the stream's checkpoint state.
 * Either all of it is in staging or none of it is, which is what makes a crash at any point safe:
 * state never runs ahead of the rows it covers.
 *
 * Used in-process on the knex pool's connection, and in the writer thread (sqlite-writer-thread.ts)
 * on a connection of its own; the SQL is the same.
 */
export class SqliteBatchStore {
  private statements = new Map<string, SqliteStatement>();
  /** Known columns per table; this connection is the only writer of raw tables during an extract. */
  private columns = new Map<string, Set<string>>();
  /** Per table: whether the last batch found none of its keys already there. */
  private onlyNewKeys = new Map<string, boolean>();

  /**
   * `cacheKiB`: SQLite's page cache for this connection. A bigger cache (default 2 MiB) keeps more of
   * the raw table's _key index in memory: keys arrive in no particular text order, so each batch
   * touches index pages all over it (16 MiB is ~8% less SQLite time on 1M rows).
   */
  constructor(
    private conn: SqliteConnection,
    cacheKiB = 16_384,
  ) {
    conn.pragma(`cache_size = -${cacheKiB}`);
  }

  private stmt(sql: string): SqliteStatement {
    let s = this.statements.get(sql);
    if (!s) {
      // Statement SQL embeds table and column names; bound the cache for many-stream runs.
      if (this.statements.size >= 200) this.statements.clear();
      this.statements.set(sql, (s = this.conn.prepare(sql)));
    }
    return s;
  }

  /** Create the raw table or add the columns a batch brings (see src/staging/raw-tables.ts for the layout). */
  private ensureTable(batch: WireBatch): void {
    let known = this.columns.get(batch.table);
    const t = quoteIdent(batch.table);
    if (!known) {
      const existing = (this.conn.prepare('SELECT name FROM pragma_table_info(?)').raw(true).all(batch.table) as string[][]).map((r) => r[0]!);
      if (existing.length === 0) {
        for (const sql of batch.createTable) this.conn.prepare(sql).run();
        known = new Set(RAW_META_COLUMNS);
      } else {
        known = new Set(existing);
      }
      this.columns.set(batch.table, known);
    }
    const want = (cols: string[]) => {
      for (const c of cols) {
        if (known!.has(c)) continue;
        this.conn.prepare(`ALTER TABLE ${t} ADD COLUMN ${quoteIdent(c)} text`).run();
        known!.add(c);
      }
    };
    for (const g of batch.groups) want(g.cols);
    for (const d of batch.deletes) want(d.cols);
    if (batch.snapshot) want([RAW_SEEN_COLUMN]);
  }

  commit(batch: WireBatch): BatchCounts {
    const counts: BatchCounts = { inserted: 0, updated: 0, unchanged: 0, deleted: 0 };
    const t = quoteIdent(batch.table);
    const run = this.conn.transaction(() => {
      this.ensureTable(batch);
      if (batch.clearFirst) this.conn.prepare(`DELETE FROM ${t}`).run();
      const hashes = batch.groups.map((g) => g.hashes);
      // Optimistic path while a table only receives new keys (a first extract, a backfill): plain
      // multi-row INSERTs, no lookup. The first key already there aborts that one statement
      // (SQLite backs it out, the transaction goes on) and the rest of the batch takes the lookup path.
      const rest: Array<{ g: number; from: number }> = [];
      if (batch.clearFirst || this.onlyNewKeys.get(batch.table) !== false) {
        let conflict = false;
        batch.groups.forEach((g, gi) => {
          if (conflict) return void rest.push({ g: gi, from: 0 });
          const rows = Array.from({ length: g.rows.length }, (_, i) => i);
          const done = this.write(t, g, hashes[gi]!, rows, batch, 'insert');
          counts.inserted += done;
          if (done < rows.length) {
            conflict = true;
            rest.push({ g: gi, from: done });
          }
        });
        this.onlyNewKeys.set(batch.table, !conflict);
      } else {
        batch.groups.forEach((_, gi) => rest.push({ g: gi, from: 0 }));
      }
      // Otherwise one lookup for the batch (keys passed as one JSON array) instead of a SELECT per
      // row; new and changed rows then go through multi-row upserts.
      const existing = new Map<string, { hash: string; deleted: boolean }>();
      const lookupKeys: string[] = [];
      for (const { g, from } of rest) {
        const group = batch.groups[g]!;
        for (let i = from; i < group.rows.length; i++) lookupKeys.push(keyOf(group, i));
      }
      if (!batch.clearFirst) for (const d of batch.deletes) lookupKeys.push(d.key);
      if (lookupKeys.length > 0) {
        const lookup = this.stmt(`SELECT t._key, t._hash, t._deleted FROM json_each(?) AS j CROSS JOIN ${t} AS t ON t._key = j.value`).raw(true);
        for (const r of lookup.all(JSON.stringify(lookupKeys)) as Array<[string, string, number]>) existing.set(r[0], { hash: r[1], deleted: Number(r[2]) === 1 });
      }
      let found = 0;
      // Unchanged rows are not rewritten; in a snapshot pass only their seen marker is.
      const seen: string[] | undefined = batch.snapshot ? [] : undefined;
      for (const { g, from } of rest) {
        const group = batch.groups[g]!;
        const writes: number[] = [];
        for (let i = from; i < group.rows.length; i++) {
          const key = keyOf(group, i);
          const e = existing.get(key);
          if (e) found++;
          if (e && !e.deleted && sameContent(e.hash, hashes[g]![i]!, group.cols, group.rows[i]!)) {
            counts.unchanged++;
            seen?.push(key);
            continue;
          }
          if (e) counts.updated++;
          else counts.inserted++;
          writes.push(i);
        }
        if (writes.length > 0) this.write(t, group, hashes[g]!, writes, batch, 'upsert');
      }
      if (seen && seen.length > 0) {
        // A resumed pass may meet rows already marked: those pages are left as they are.
        this.stmt(`UPDATE ${t} SET _seen = ? WHERE _key IN (SELECT value FROM json_each(?)) AND _seen IS NOT ?`).run(batch.snapshot!.pass, JSON.stringify(seen), batch.snapshot!.pass);
      }
      // A batch of new keys only: try the optimistic path again with the next one.
      if (rest.length > 0 && found === 0) this.onlyNewKeys.set(batch.table, true);
      for (const d of batch.deletes) {
        const e = existing.get(d.key);
        if (e?.deleted) continue;
        if (e) {
          this.stmt(`UPDATE ${t} SET _deleted = 1, _hash = ?, _extracted_at = ?, _run_id = ? WHERE _key = ?`).run(TOMBSTONE, batch.extractedAt, batch.runId, d.key);
        } else {
          const names = [...d.cols.map(quoteIdent), '_key', '_hash', '_extracted_at', '_run_id', '_deleted'];
          this.stmt(`INSERT INTO ${t} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`).run(...d.values, d.key, TOMBSTONE, batch.extractedAt, batch.runId, 1);
        }
        counts.deleted++;
      }
      if (batch.snapshot?.complete) {
        const { changes } = this.stmt(`UPDATE ${t} SET _deleted = 1, _hash = ?, _extracted_at = ?, _run_id = ? WHERE _deleted = 0 AND _seen IS NOT ?`).run(
          TOMBSTONE,
          batch.extractedAt,
          batch.runId,
          batch.snapshot.pass,
        );
        counts.deleted += changes;
      }
      // The same reject and state SQL every batch: prepared once, like the row statements.
      for (const q of batch.statements) this.stmt(q.sql).run(...q.bindings);
    });
    // IMMEDIATE: take the write lock up front (waiting out busy_timeout), instead of failing with
    // SQLITE_BUSY when a read turns into a write while another connection writes.
    run.immediate();
    return counts;
  }

  /**
   * Write the rows `rows` (positions in the group), `per` rows per statement, the remainder one at a
   * time. `upsert` inserts or replaces; `insert` stops at the first statement that hits an existing
   * key and returns how many rows (a prefix of `rows`) it wrote.
   *
   * Only what differs per row is bound per row (`INSERT … SELECT … FROM (VALUES …)`): the batch's run
   * id, time and pass are bound once per statement (the `?`s of the SELECT list, numbered before
   * those of VALUES), and a key that is the value of one of the row's columns (a one-column primary
   * key) is that column again. Each bound string is a UTF-8 copy; binding 8 values a row instead of
   * 12 took ~30% off the writer's insert time.
   *
   * Values go to `run` as arguments, not as one array: better-sqlite3 reads an array element by
   * element through V8's object API, arguments directly (~0.2 s less per 1M rows), and with no named
   * parameters it does not scan the statement's parameter names on every run.
   */
  private write(t: string, g: WireGroup, hashes: string[], rows: number[], batch: WireBatch, mode: 'insert' | 'upsert'): number {
    const w = g.cols.length;
    const keyCol = g.keyCol;
    const pass = batch.snapshot?.pass;
    // Per row: the columns, the key when no column holds it, the hash.
    const bound = w + (keyCol < 0 ? 1 : 0) + 1;
    const col = (i: number) => `column${i + 1}`;
    const names = [...g.cols.map(quoteIdent), '_key', '_hash', '_extracted_at', '_run_id', '_deleted'];
    const exprs = [...g.cols.map((_, c) => col(c)), col(keyCol < 0 ? w : keyCol), col(bound - 1), '?', '?', '0'];
    const once: unknown[] = [batch.extractedAt, batch.runId];
    if (pass !== undefined) {
      names.push(RAW_SEEN_COLUMN);
      exprs.push('?');
      once.push(pass);
    }
    const tuple = `(${Array<string>(bound).fill('?').join(', ')})`;
    const set = names.filter((c) => c !== '_key').map((c) => `${c} = excluded.${c}`).join(', ');
    // `WHERE true`: SQLite's parser needs it between INSERT … SELECT and an upsert clause.
    const tail = mode === 'upsert' ? ` WHERE true ON CONFLICT(_key) DO UPDATE SET ${set}` : '';
    const sql = (n: number) => `INSERT INTO ${t} (${names.join(', ')}) SELECT ${exprs.join(', ')} FROM (VALUES ${Array<string>(n).fill(tuple).join(', ')})${tail}`;
    const per = Math.max(1, Math.min(ROWS_PER_STATEMENT, Math.floor((MAX_PARAMS - once.length) / bound)));
    // Filled in place, statement after statement: the run-wide values first, then `n` rows.
    const fill = (params: unknown[], from: number, n: number) => {
      let k = once.length;
      for (let j = from; j < from + n; j++) {
        const r = rows[j]!;
        const row = g.rows[r]!;
        for (let c = 0; c < w; c++) params[k++] = row[c];
        if (keyCol < 0) params[k++] = g.keys![r];
        params[k++] = hashes[r];
      }
    };
    const run = (s: SqliteStatement, params: unknown[]): boolean => {
      try {
        s.run(...params);
        return true;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (mode === 'insert' && (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE')) return false;
        throw err;
      }
    };
    let i = 0;
    if (rows.length >= per) {
      const multi = this.stmt(sql(per));
      const params = [...once, ...Array<unknown>(per * bound).fill(null)];
      for (; i + per <= rows.length; i += per) {
        fill(params, i, per);
        if (!run(multi, params)) return i;
      }
    }
    if (i < rows.length) {
      const single = this.stmt(sql(1));
      const params = [...once, ...Array<unknown>(bound).fill(null)];
      for (; i < rows.length; i++) {
        fill(params, i, 1);
        if (!run(single, params)) return i;
      }
    }
    return rows.length;
  }
}
