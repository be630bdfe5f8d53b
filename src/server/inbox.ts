import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { withDriverConnection, type Staging } from '../staging/db.js';

/**
 * The durable webhook inbox (`webhook_inbox`, migration 040).
 *
 * Writes use group commit: `add()` queues the event and resolves only after the transaction that
 * holds it has committed, so the HTTP 2xx is never sent for an event that is not on disk. Events
 * that arrive while a commit is running share the next transaction, so under load one commit (one
 * WAL fsync) carries many events, and an idle server adds no delay. Deduplication is the unique key
 * (source, event_id) with `ON CONFLICT DO NOTHING … RETURNING`: concurrency-safe on SQLite and
 * Postgres, and the rows returned tell which events were new.
 *
 * @example
 *   const inbox = new Inbox(staging);
 *   await inbox.add({ source: 'crossbeam', eventId: 'e1', eventType: 'partner_deal_opened', body: raw, headers: {} }); // 'inserted'
 *   await inbox.add({ ... same event_id ... }); // 'duplicate'
 *   const rows = await inbox.claim({ limit: 10, leaseSeconds: 60 });
 */
export interface InboxEventInput {
  source: string;
  eventId: string;
  eventType?: string | null;
  body: string;
  headers?: Record<string, string>;
}

export type InboxStatus = 'received' | 'processing' | 'processed' | 'failed' | 'dead';
export const INBOX_STATUSES: readonly InboxStatus[] = ['received', 'processing', 'processed', 'failed', 'dead'];

export interface InboxRow {
  id: number;
  source: string;
  event_id: string;
  event_type: string | null;
  body: string;
  headers: string | null;
  received_at: string;
  status: InboxStatus;
  attempts: number;
  next_attempt_at: string;
  lease_until: string | null;
  claim_token: string | null;
  last_error: string | null;
  processed_at: string | null;
  result: string | null;
}

export type AddOutcome = 'inserted' | 'duplicate';

interface Pending {
  event: InboxEventInput;
  resolve(o: AddOutcome): void;
  reject(e: unknown): void;
}

const COLUMNS = ['source', 'event_id', 'event_type', 'body', 'headers', 'received_at', 'status', 'attempts', 'next_attempt_at'] as const;

export interface InboxOptions {
  /** Wait this long for more events before committing (0: commit at once; arrivals during a commit still share the next one). */
  groupCommitMs?: number;
  /** At most this many events per transaction. */
  maxBatch?: number;
  /** Clock, for tests. */
  now?: () => Date;
}

export class Inbox {
  private queue: Pending[] = [];
  private flushing = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly groupCommitMs: number;
  private readonly maxBatch: number;
  private readonly now: () => Date;
  /** Called after new events were committed (the worker uses it to poll at once). */
  onCommitted: ((inserted: number) => void) | undefined;

  constructor(private readonly staging: Staging, opts: InboxOptions = {}) {
    this.groupCommitMs = opts.groupCommitMs ?? 2;
    // Stay well under SQLite's bound-parameter limit (32 766) with 9 columns per row.
    this.maxBatch = Math.min(opts.maxBatch ?? 256, 2000);
    this.now = opts.now ?? (() => new Date());
  }

  private get db(): Knex {
    return this.staging.db;
  }

  /** Queue an event for the next group commit; resolves once it is committed (or known as a duplicate). */
  add(event: InboxEventInput): Promise<AddOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      this.schedule();
    });
  }

  /** Several events of one request (HubSpot sends arrays): committed in the same transaction. */
  addMany(events: InboxEventInput[]): Promise<AddOutcome[]> {
    return Promise.all(events.map((e) => this.add(e)));
  }

  /** Resolves when every queued event has been committed. */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.flushing) {
      if (!this.flushing) await this.drain();
      else await new Promise((r) => setTimeout(r, 1));
    }
  }

  private schedule(): void {
    if (this.flushing || this.timer) return;
    if (this.queue.length >= this.maxBatch) {
      void this.drain();
      return;
    }
    // 0: wait one event-loop turn, so requests whose bytes arrived meanwhile join this commit.
    const later = () => {
      this.timer = undefined;
      void this.drain();
    };
    this.timer = this.groupCommitMs === 0 ? (setImmediate(later) as unknown as NodeJS.Timeout) : setTimeout(later, this.groupCommitMs);
  }

  private async drain(): Promise<void> {
    if (this.flushing) return;
    if (this.timer) {
      clearTimeout(this.timer);
      clearImmediate(this.timer as unknown as NodeJS.Immediate);
      this.timer = undefined;
    }
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const outcomes = await this.write(batch.map((p) => p.event));
          batch.forEach((p, i) => p.resolve(outcomes[i]!));
          const inserted = outcomes.filter((o) => o === 'inserted').length;
          if (inserted > 0) this.onCommitted?.(inserted);
        } catch (err) {
          batch.forEach((p) => p.reject(err));
        }
        // better-sqlite3 blocks the event loop while it commits: let the requests that arrived
        // meanwhile be read, so they share the next commit instead of trickling in one by one.
        if (this.queue.length < this.maxBatch) await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.flushing = false;
    }
  }

  /** One transaction: insert the batch, learn which rows were new from RETURNING. */
  private async write(events: InboxEventInput[]): Promise<AddOutcome[]> {
    const at = this.now().toISOString();
    // The same event twice in one batch (concurrent re-deliveries): insert it once; the first of them
    // is the one that gets "inserted" if the row is new.
    const firstIndex = new Map<string, number>();
    const unique: InboxEventInput[] = [];
    events.forEach((e, i) => {
      const k = `${e.source}\u0000${e.eventId}`;
      if (!firstIndex.has(k)) {
        firstIndex.set(k, i);
        unique.push(e);
      }
    });
    const values: unknown[] = [];
    for (const e of unique) {
      values.push(e.source, e.eventId, e.eventType ?? null, e.body, JSON.stringify(e.headers ?? {}), at, 'received', 0, at);
    }
    const rows = this.staging.dialect === 'sqlite' ? await this.insertSqlite(unique.length, values) : rowsOf<{ source: string; event_id: string }>(await this.db.raw(insertSql(unique.length), values));
    const inserted = new Set(rows.map((r) => `${r.source}\u0000${r.event_id}`));
    return events.map((e, i) => {
      const k = `${e.source}\u0000${e.eventId}`;
      return firstIndex.get(k) === i && inserted.has(k) ? 'inserted' : 'duplicate';
    });
  }

  /**
   * SQLite: the statement runs on the pooled better-sqlite3 connection itself, prepared once per
   * batch size, skipping knex's per-query compile step: at thousands of events per second that
   * step costs more than the insert. The connection is borrowed from knex's pool and returned, so
   * it is the same single connection (and the same transaction discipline) as every other query.
   */
  private insertSqlite(n: number, values: unknown[]): Promise<Array<{ source: string; event_id: string }>> {
    return withDriverConnection<RawSqlite, Array<{ source: string; event_id: string }>>(this.db, (conn) => {
      let cache = statements.get(conn);
      if (!cache) statements.set(conn, (cache = new Map()));
      let stmt = cache.get(n);
      if (!stmt) cache.set(n, (stmt = conn.prepare(insertSql(n))));
      return stmt.all(...values) as Array<{ source: string; event_id: string }>;
    });
  }

  /**
   * Atomically claim up to `limit` due events: received or failed ones whose time has come, and
   * processing ones whose lease ran out (their worker died). Each claim increments `attempts` and
   * sets a fresh `claim_token`; only the holder of the token can complete or fail the row.
   */
  async claim(opts: { limit: number; leaseSeconds: number }): Promise<InboxRow[]> {
    const now = this.now();
    const nowIso = now.toISOString();
    const lease = new Date(now.getTime() + opts.leaseSeconds * 1000).toISOString();
    const token = randomUUID();
    const due = `((status IN ('received', 'failed') AND next_attempt_at <= ?) OR (status = 'processing' AND lease_until < ?))`;
    // Postgres: SKIP LOCKED lets several workers claim side by side; the repeated condition in the
    // outer WHERE is re-checked on the latest row version, so a row is never claimed twice.
    const lock = this.staging.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
    const sql = `UPDATE webhook_inbox SET status = 'processing', attempts = attempts + 1, claim_token = ?, lease_until = ?
      WHERE id IN (SELECT id FROM webhook_inbox WHERE ${due} ORDER BY id LIMIT ?${lock}) AND ${due}
      RETURNING *`;
    const res = await this.db.raw(sql, [token, lease, nowIso, nowIso, opts.limit, nowIso, nowIso]);
    return rowsOf<InboxRow>(res).sort((a, b) => a.id - b.id);
  }

  /** Mark a claimed event processed; false when the claim was lost (lease expired and re-claimed). */
  async complete(row: Pick<InboxRow, 'id' | 'claim_token'>, result: unknown): Promise<boolean> {
    const n = await this.db('webhook_inbox')
      .where({ id: row.id, claim_token: row.claim_token, status: 'processing' })
      .update({ status: 'processed', processed_at: this.now().toISOString(), result: JSON.stringify(result ?? null), last_error: null, claim_token: null, lease_until: null });
    return n === 1;
  }

  /** Record a failed attempt: back to `failed` until `nextAttemptAt`, or `dead` for good. */
  async fail(row: Pick<InboxRow, 'id' | 'claim_token'>, error: string, opts: { dead: boolean; nextAttemptAt: Date; result?: unknown }): Promise<boolean> {
    const n = await this.db('webhook_inbox')
      .where({ id: row.id, claim_token: row.claim_token, status: 'processing' })
      .update({
        status: opts.dead ? 'dead' : 'failed',
        last_error: error.slice(0, 4000),
        next_attempt_at: opts.nextAttemptAt.toISOString(),
        result: opts.result === undefined ? null : JSON.stringify(opts.result),
        claim_token: null,
        lease_until: null,
      });
    return n === 1;
  }

  async list(opts: { status?: InboxStatus[]; source?: string; limit?: number; since?: string } = {}): Promise<InboxRow[]> {
    const q = this.db<InboxRow>('webhook_inbox').select('*').orderBy('id', 'desc').limit(opts.limit ?? 50);
    if (opts.status?.length) q.whereIn('status', opts.status);
    if (opts.source) q.where('source', opts.source);
    if (opts.since) q.where('received_at', '>=', opts.since);
    return q;
  }

  async get(id: number): Promise<InboxRow | undefined> {
    return this.db<InboxRow>('webhook_inbox').where({ id }).first();
  }

  /**
   * Put failed or dead events back in the queue with a fresh attempt budget. With `ids`, only those
   * (when failed or dead); without, every dead event (of `source`, when given).
   */
  async retry(opts: { ids?: number[]; source?: string; includeFailed?: boolean } = {}): Promise<number> {
    const q = this.db('webhook_inbox').whereIn('status', opts.ids || opts.includeFailed ? ['failed', 'dead'] : ['dead']);
    if (opts.ids) q.whereIn('id', opts.ids);
    if (opts.source) q.where('source', opts.source);
    return q.update({ status: 'received', attempts: 0, next_attempt_at: this.now().toISOString(), last_error: null });
  }

  /** Process already-processed events again (after fixing an action): they run their actions once more. */
  async replay(opts: { ids?: number[]; source?: string; since?: string }): Promise<number> {
    const q = this.db('webhook_inbox').whereIn('status', ['processed', 'dead', 'failed']);
    if (opts.ids) q.whereIn('id', opts.ids);
    if (opts.source) q.where('source', opts.source);
    if (opts.since) q.where('received_at', '>=', opts.since);
    return q.update({ status: 'received', attempts: 0, next_attempt_at: this.now().toISOString(), last_error: null, result: null, processed_at: null });
  }

  /** Events per status (every status present, 0 when none). */
  async depth(): Promise<Record<InboxStatus, number>> {
    const rows = (await this.db('webhook_inbox').select('status').count({ n: '*' }).groupBy('status')) as Array<{ status: InboxStatus; n: number | string }>;
    const out = Object.fromEntries(INBOX_STATUSES.map((s) => [s, 0])) as Record<InboxStatus, number>;
    for (const r of rows) out[r.status] = Number(r.n);
    return out;
  }
}

interface RawStatement {
  all(...params: unknown[]): unknown[];
}
interface RawSqlite {
  prepare(sql: string): RawStatement;
}
const statements = new WeakMap<RawSqlite, Map<number, RawStatement>>();

function insertSql(n: number): string {
  const row = `(${COLUMNS.map(() => '?').join(', ')})`;
  return `INSERT INTO webhook_inbox (${COLUMNS.join(', ')}) VALUES ${Array.from({ length: n }, () => row).join(', ')} ON CONFLICT (source, event_id) DO NOTHING RETURNING source, event_id`;
}

/** knex.raw's result: an array of rows on better-sqlite3, `{ rows }` on pg. */
function rowsOf<T>(res: unknown): T[] {
  if (Array.isArray(res)) return res as T[];
  return ((res as { rows?: T[] })?.rows ?? []) as T[];
}
