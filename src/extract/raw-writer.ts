import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Knex } from 'knex';
import { withDriverConnection, type Staging } from '../staging/db.js';
import { createRawTableSql, ensureRawTable, RAW_SEEN_COLUMN } from '../staging/raw-tables.js';
import { rejectRow, type Reject } from '../staging/rejects.js';
import { paramsHash, type StateKey } from '../staging/state.js';
import { hashPlan, hashValues, sameContent, type HashPlan } from './row-hash.js';
import { SqliteBatchStore, type BatchCounts, type SqliteConnection, type WireBatch, type WireGroup } from './sqlite-batch-store.js';

export type { BatchCounts } from './sqlite-batch-store.js';

/**
 * Writes one batch into staging in ONE transaction: raw rows (new or changed only), tombstones,
 * rejects, the stream's checkpoint state and, in a snapshot pass, its rows' seen markers and (when
 * the batch completes the pass) the tombstones of rows the pass did not see. Either all of it is in
 * staging or none of it is, which is what makes a crash at any point safe: state never runs ahead
 * of the rows it covers.
 *
 * Three implementations, the same SQL semantics:
 * - SQLite staging in a file: a writer thread with its own connection (sqlite-writer-thread.ts), so
 *   reading/parsing and writing run on two cores. Batches are committed in order; `commit` resolves
 *   when the batch is durable.
 * - SQLite in memory (or where the thread's compiled file is absent, as under the test runner):
 *   the same SqliteBatchStore on the knex pool's single connection. Both go through better-sqlite3
 *   prepared statements: a knex query per row costs ~20× more.
 * - Postgres: knex, multi-row upserts.
 */
export interface PreparedRow {
  key: string;
  /** Normalised raw column names, without bookkeeping columns; rows of one shape share the array. */
  cols: readonly string[];
  /** `values[i]` is the value of `cols[i]`. */
  values: (string | null)[];
}

/** A prepared row as an object (column → value). */
export function rowObject(r: PreparedRow): Record<string, string | null> {
  const o: Record<string, string | null> = {};
  for (let i = 0; i < r.cols.length; i++) o[r.cols[i]!] = r.values[i] ?? null;
  return o;
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
  /**
   * The batch belongs to snapshot pass `pass`: every record (written or unchanged) gets `_seen =
   * pass`; `complete`: afterwards, live rows with another `_seen` are tombstoned and counted as deleted.
   */
  snapshot?: { pass: string; complete: boolean };
}

export interface RawWriter {
  /** Which implementation (see above); for tests and `--debug` output. */
  readonly kind: 'thread' | 'in-process' | 'knex';
  /**
   * May be called before the previous commit settled: batches commit in call order, and once one
   * fails none after it does (they reject without writing), so a later batch's state is never
   * durable without an earlier batch's rows. The caller must not change the batch afterwards (the
   * Postgres writer reads it only when its turn comes).
   */
  commit(batch: BatchToCommit): Promise<BatchCounts>;
  /** Release the writer (stops the writer thread); waits for batches in flight. */
  close(): Promise<void>;
}

export interface RawWriterOptions {
  /**
   * `auto` (default): a writer thread for file-backed SQLite staging when the thread's compiled file
   * exists; `never`: always in-process. `threadUrl` overrides where the thread's code is (tests run
   * the compiled one from dist/).
   */
  thread?: 'auto' | 'never';
  threadUrl?: URL;
}

export function createRawWriter(staging: Staging, opts: RawWriterOptions = {}): RawWriter {
  if (staging.dialect !== 'sqlite') return new KnexRawWriter(staging.db);
  const url = opts.threadUrl ?? new URL('./sqlite-writer-thread.js', import.meta.url);
  const threaded = opts.thread !== 'never' && staging.file && staging.file !== ':memory:' && fs.existsSync(fileURLToPath(url));
  return threaded ? new ThreadedSqliteWriter(staging.db, staging.file!, url) : new InProcessSqliteWriter(staging.db);
}

function stateRow(batch: BatchToCommit): Record<string, unknown> | undefined {
  if (!batch.state) return undefined;
  const { key, value } = batch.state;
  return { connection: key.connection, stream: key.stream, params_hash: paramsHash(key.params), state: JSON.stringify(value), updated_at: batch.extractedAt, run_id: batch.runId };
}

/** A batch as plain data for SqliteBatchStore; the bookkeeping SQL is compiled by knex so it stays in one dialect-aware place. */
function toWire(db: Knex, batch: BatchToCommit): WireBatch {
  const groups = new Map<string, WireGroup>();
  let last: WireGroup | undefined;
  let lastCols: readonly string[] | undefined;
  let plan: HashPlan | undefined;
  for (const r of batch.records.values()) {
    // Rows of one shape share their cols array; only a new array needs the signature lookup.
    if (r.cols !== lastCols) {
      const sig = r.cols.join('\u0000');
      let g = groups.get(sig);
      if (!g) groups.set(sig, (g = { cols: [...r.cols], keyCol: -1, keys: [], rows: [], hashes: [] }));
      last = g;
      lastCols = r.cols;
      plan = hashPlan(g.cols);
    }
    // The row's own value array goes on the wire: no copy here (the batch is cloned when sent).
    const g = last!;
    g.keys!.push(r.key);
    g.rows.push(r.values);
    g.hashes.push(hashValues(g.cols, r.values, plan));
  }
  for (const g of groups.values()) {
    g.keyCol = keyColumnOf(g);
    if (g.keyCol >= 0) g.keys = null;
  }
  const statements: WireBatch['statements'] = batch.rejects.map((r) => toNative(db('rejects').insert(rejectRow(r))));
  const st = stateRow(batch);
  if (st) statements.push(toNative(db('sync_state').insert(st).onConflict(['connection', 'stream', 'params_hash']).merge(['state', 'updated_at', 'run_id'])));
  return {
    table: batch.table,
    createTable: createSqlOf(db, batch.table),
    groups: [...groups.values()],
    deletes: [...batch.deletes.values()].map((d) => ({ cols: [...d.cols], key: d.key, values: d.values })),
    statements,
    clearFirst: Boolean(batch.clearFirst),
    runId: batch.runId,
    extractedAt: batch.extractedAt,
    ...(batch.snapshot ? { snapshot: { pass: batch.snapshot.pass, complete: batch.snapshot.complete } } : {}),
  };
}

/** The column whose value is every row's key in this group (a one-column primary key), or -1. */
function keyColumnOf(g: WireGroup): number {
  const keys = g.keys!;
  if (keys.length === 0) return -1;
  const first = g.rows[0]!;
  let c = 0;
  while (c < first.length && first[c] !== keys[0]) c++;
  if (c === first.length) return -1;
  for (let i = 1; i < keys.length; i++) if (g.rows[i]![c] !== keys[i]) return -1;
  return c;
}

const createSql = new WeakMap<Knex, Map<string, string[]>>();

/** createRawTableSql, compiled once per table rather than once per batch. */
function createSqlOf(db: Knex, table: string): string[] {
  let byTable = createSql.get(db);
  if (!byTable) createSql.set(db, (byTable = new Map()));
  let sql = byTable.get(table);
  if (!sql) byTable.set(table, (sql = createRawTableSql(db, table)));
  return sql;
}

function toNative(q: Knex.QueryBuilder): { sql: string; bindings: unknown[] } {
  const n = q.toSQL().toNative();
  return { sql: n.sql, bindings: [...n.bindings] };
}

/** Runs commits one after another in call order; after a failure, refuses the rest. */
class CommitQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private failed: unknown;

  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(() => {
      if (this.failed !== undefined) throw refused(this.failed);
      return fn();
    });
    this.tail = p.catch((e) => {
      this.failed ??= e;
    });
    return p;
  }
}

function refused(first: unknown): Error {
  return new Error(`batch not committed: an earlier batch failed (${(first as Error)?.message ?? String(first)})`);
}

class InProcessSqliteWriter implements RawWriter {
  readonly kind = 'in-process';
  private store: SqliteBatchStore | undefined;
  private conn: SqliteConnection | undefined;
  private queue = new CommitQueue();

  constructor(private db: Knex) {}

  commit(batch: BatchToCommit): Promise<BatchCounts> {
    const wire = toWire(this.db, batch);
    return this.queue.run(() => this.commitWire(wire));
  }

  private commitWire(wire: WireBatch): Promise<BatchCounts> {
    return withDriverConnection<SqliteConnection, BatchCounts>(this.db, (conn) => {
      // The pool may have replaced its connection; prepared statements belong to the old one.
      if (conn !== this.conn) {
        this.conn = conn;
        this.store = new SqliteBatchStore(conn);
      }
      return this.store!.commit(wire);
    });
  }

  async close(): Promise<void> {}
}

interface Reply {
  id: number;
  counts?: BatchCounts;
  error?: { name: string; message: string; code?: string; stack?: string };
  closed?: true;
}

/** Rows sent to the writer thread before a checkpointer thread is started (see below). */
const CHECKPOINTER_AFTER_ROWS = 20_000;
/** How often the checkpointer copies what the writer committed meanwhile. */
const CHECKPOINT_INTERVAL_MS = 100;

class ThreadedSqliteWriter implements RawWriter {
  readonly kind = 'thread';
  private worker: Worker | undefined;
  private nextId = 1;
  private pending = new Map<number, { resolve(v: Reply): void; reject(e: Error): void }>();
  private failed: Error | undefined;
  /**
   * A second thread that checkpoints the WAL while the writer writes (sqlite-checkpoint-thread.ts),
   * started once an extract is big enough to fill the WAL: small runs do not pay for its start.
   */
  private checkpointer: Worker | undefined;
  private rowsSent = 0;

  constructor(
    private db: Knex,
    private file: string,
    private url: URL,
  ) {
    // Booting the thread (an isolate, better-sqlite3, the connection) takes ~75 ms: begun now, it
    // overlaps with the source's discovery and first reads instead of delaying the first commit.
    this.start();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    // An 8 MB young generation: V8's default (up to 48 MB) took the extract's peak RSS from ~150 to
    // ~250 MB on the 1M-row bench; 4 MB was worse on both counts (each batch outlived scavenges and
    // was promoted: 2.5 s of GC in the thread and more old space).
    const w = new Worker(this.url, { workerData: { file: this.file }, resourceLimits: { maxYoungGenerationSizeMb: 8 } });
    w.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      // Idle, the thread must not keep the process alive; busy, it must (a commit is awaited).
      if (this.pending.size === 0) w.unref();
      p?.resolve(m);
    });
    const fail = (err: Error) => {
      this.failed = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => {
      this.worker = undefined;
      if (this.pending.size > 0) fail(new Error(`the staging writer thread stopped (exit code ${code}) with batches in flight`));
    });
    w.unref();
    return (this.worker = w);
  }

  private send(msg: { batch?: WireBatch; close?: true }): Promise<Reply> {
    if (this.failed) return Promise.reject(this.failed);
    const w = this.start();
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ id, ...msg });
    });
  }

  // Not async: the batch's objects must not stay reachable while the thread works. Serialised at
  // once, they die young in the main thread's heap instead of being promoted (which cost ~70 MB of
  // peak RSS on the 1M-row bench whenever the thread fell behind). The thread commits in message
  // order and refuses every batch after a failed one (sqlite-writer-thread.ts).
  commit(batch: BatchToCommit): Promise<BatchCounts> {
    this.rowsSent += batch.records.size;
    if (this.rowsSent >= CHECKPOINTER_AFTER_ROWS) this.startCheckpointer();
    return this.send({ batch: toWire(this.db, batch) }).then((reply) => {
      if (reply.error) {
        // Rebuilt with its code so callers (and the error boundary) see the SQLite error as it was.
        const e = Object.assign(new Error(reply.error.message), { name: reply.error.name, code: reply.error.code });
        if (reply.error.stack) e.stack = reply.error.stack;
        throw e;
      }
      return reply.counts!;
    });
  }

  private startCheckpointer(): void {
    if (this.checkpointer || this.failed) return;
    const w = new Worker(new URL('./sqlite-checkpoint-thread.js', this.url), {
      workerData: { file: this.file, intervalMs: CHECKPOINT_INTERVAL_MS },
      resourceLimits: { maxYoungGenerationSizeMb: 1 },
    });
    // An optimisation only: if it cannot run, the writer's own checkpoints do the work.
    w.on('error', () => undefined);
    w.unref();
    this.checkpointer = w;
  }

  /** Stop the checkpointer and wait until its connection is closed. */
  private async stopCheckpointer(): Promise<void> {
    const w = this.checkpointer;
    if (!w) return;
    this.checkpointer = undefined;
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.postMessage('stop');
    await exited;
  }

  async close(): Promise<void> {
    // First, so the writer's last checkpoint (at its close) is not refused as busy.
    await this.stopCheckpointer();
    if (!this.worker) return;
    const w = this.worker;
    await this.send({ close: true }).catch(() => undefined);
    await new Promise<void>((resolve) => (this.worker ? w.once('exit', () => resolve()) : resolve()));
  }
}

class KnexRawWriter implements RawWriter {
  readonly kind = 'knex';
  private queue = new CommitQueue();

  constructor(private db: Knex) {}

  commit(batch: BatchToCommit): Promise<BatchCounts> {
    return this.queue.run(() => this.commitBatch(batch));
  }

  private async commitBatch(batch: BatchToCommit): Promise<BatchCounts> {
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
      const pass = batch.snapshot?.pass;
      const writes: Record<string, unknown>[] = [];
      // Unchanged rows are not rewritten; in a snapshot pass only their seen marker is.
      const seen: string[] = [];
      for (const r of batch.records.values()) {
        const e = existing.get(r.key);
        const hash = hashValues(r.cols, r.values);
        if (e && !e.deleted && sameContent(e.hash, hash, r.cols, r.values)) {
          counts.unchanged++;
          if (pass !== undefined) seen.push(r.key);
          continue;
        }
        if (e) counts.updated++;
        else counts.inserted++;
        const w: Record<string, unknown> = { ...rowObject(r), _key: r.key, _hash: hash, _extracted_at: batch.extractedAt, _run_id: batch.runId, _deleted: 0 };
        if (pass !== undefined) w[RAW_SEEN_COLUMN] = pass;
        writes.push(w);
      }
      await upsertRows(trx, batch.table, writes);
      for (let i = 0; i < seen.length; i += 1000) {
        await trx(batch.table)
          .whereIn('_key', seen.slice(i, i + 1000))
          .andWhere((q) => q.whereNull(RAW_SEEN_COLUMN).orWhereNot(RAW_SEEN_COLUMN, pass!))
          .update({ [RAW_SEEN_COLUMN]: pass });
      }
      const tombstones: Record<string, unknown>[] = [];
      for (const d of batch.deletes.values()) {
        const e = existing.get(d.key);
        if (e?.deleted) continue;
        counts.deleted++;
        if (e) {
          await trx(batch.table).where({ _key: d.key }).update({ _deleted: 1, _hash: TOMBSTONE, _extracted_at: batch.extractedAt, _run_id: batch.runId });
        } else {
          tombstones.push({ ...rowObject(d), _key: d.key, _hash: TOMBSTONE, _extracted_at: batch.extractedAt, _run_id: batch.runId, _deleted: 1 });
        }
      }
      await upsertRows(trx, batch.table, tombstones);
      if (batch.snapshot?.complete) {
        counts.deleted += await trx(batch.table)
          .where('_deleted', 0)
          .andWhere((q) => q.whereNull(RAW_SEEN_COLUMN).orWhereNot(RAW_SEEN_COLUMN, batch.snapshot!.pass))
          .update({ _deleted: 1, _hash: TOMBSTONE, _extracted_at: batch.extractedAt, _run_id: batch.runId });
      }
      for (let i = 0; i < batch.rejects.length; i += 50) await trx('rejects').insert(batch.rejects.slice(i, i + 50).map(rejectRow));
      const st = stateRow(batch);
      if (st) await trx('sync_state').insert(st).onConflict(['connection', 'stream', 'params_hash']).merge(['state', 'updated_at', 'run_id']);
    });
    return counts;
  }

  async close(): Promise<void> {}
}

const TOMBSTONE = 'tombstone';

function columnsOf(batch: BatchToCommit): Set<string> {
  const cols = new Set<string>();
  for (const r of batch.records.values()) for (const c of r.cols) cols.add(c);
  for (const r of batch.deletes.values()) for (const c of r.cols) cols.add(c);
  if (batch.snapshot) cols.add(RAW_SEEN_COLUMN);
  return cols;
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
