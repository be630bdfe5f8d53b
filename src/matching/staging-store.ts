/**
 * Pipeline mode's storage: reads the canonical `accounts` (and, when the policy uses them, `contacts`) and
 * `partner_signals` tables from staging; writes `matches` (one row per signal, replaced each run) and keeps
 * `match_review` (the queue, and the decisions people made). A stored decision wins over the engine on every
 * later run: accepted → matched to the chosen account, rejected → unmatched.
 *
 * The two tables are created by the staging migration `010-matching`. All of a run's rows are written in
 * one transaction: on SQLite by prepared statements on the pooled connection, on Postgres by inserts of
 * a few thousand rows bound as column arrays (see `writeSqlite`, `writeBatched`).
 *
 * @example
 *   const summary = await runStagedMatch(staging.db, policy, runId);
 *   await decideReview(staging.db, 'SIG-1', 'accept', 'ACC-2');
 */
import type { Database as Sqlite } from 'better-sqlite3';
import type { Knex } from 'knex';
import type { Client as PgClient } from 'pg';
import { dialectOf, inPgTransaction, withDriverConnection } from '../staging/db.js';
import { InputError } from '../errors.js';
import { createMatcher } from './engine.js';
import type { AccountRecord, MatchPolicy, MatchResult, SignalRecord } from './types.js';

export const MATCHES_TABLE = 'matches';
export const REVIEW_TABLE = 'match_review';

async function requireTable(db: Knex, table: string): Promise<void> {
  if (!(await db.schema.hasTable(table)))
    throw new InputError(`staging has no "${table}" table`, {
      hint: 'run `partnersync model` first (it builds the canonical accounts and partner_signals), or use file mode: --accounts and --signals',
    });
}

type Row = Record<string, string | null>;
const list = (v: string | null | undefined): string[] => (v ? v.split(/[;,|\s]+/).filter((x) => x !== '') : []);

/**
 * Maps every row of a staged table, given as an array of values with the columns' positions by name, one
 * row at a time: neither driver's row objects, built column by column, nor a whole table of them are ever
 * held (a million sat in memory beside the records made from them, and building them took ~1.5 s more per
 * million rows on SQLite). SQLite steps through better-sqlite3's raw arrays; Postgres fetches from a
 * server-side cursor, `FETCH_ROWS` at a time, as pg's array rows.
 */
async function mapRows<T>(db: Knex, table: string, fn: (row: readonly unknown[], at: ReadonlyMap<string, number>) => T): Promise<T[]> {
  const out: T[] = [];
  if (dialectOf(db) === 'sqlite') {
    await withDriverConnection<Sqlite, void>(db, (conn) => {
      const stmt = conn.prepare(`SELECT * FROM "${table}"`).raw(true);
      const at = new Map(stmt.columns().map((c, i) => [c.name, i]));
      for (const row of stmt.iterate()) out.push(fn(row as unknown[], at));
    });
    return out;
  }
  // A cursor lives in a transaction; this one only reads, and sees one snapshot of the table.
  await withDriverConnection<PgClient, void>(db, (conn) =>
    inPgTransaction(
      conn,
      async () => {
        await conn.query(`DECLARE partnersync_rows NO SCROLL CURSOR FOR SELECT * FROM "${table}"`);
        let at: Map<string, number> | undefined;
        for (;;) {
          const page = await conn.query<unknown[]>({ text: `FETCH ${FETCH_ROWS} FROM partnersync_rows`, rowMode: 'array' });
          at ??= new Map(page.fields.map((f, i) => [f.name, i]));
          for (const row of page.rows) out.push(fn(row, at));
          if (page.rows.length < FETCH_ROWS) break;
        }
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    ),
  );
  return out;
}

/** Rows per FETCH from a Postgres cursor: few round trips, and a few MB of rows at a time. */
export const FETCH_ROWS = 10_000;

/** A text value of the row (null for a missing column or SQL NULL). */
function text(row: readonly unknown[], at: number | undefined): string | null {
  const v = at === undefined ? null : row[at];
  return v === null || v === undefined ? null : String(v);
}

export async function readStagedAccounts(db: Knex, policy: MatchPolicy): Promise<AccountRecord[]> {
  await requireTable(db, 'accounts');
  const contacts = new Map<string, string[]>();
  if (policy.rules.includes('contact-email-domain') && (await db.schema.hasTable('contacts'))) {
    for (const c of (await db('contacts').select('account_id', 'email')) as Row[]) {
      if (!c.account_id || !c.email) continue;
      const l = contacts.get(c.account_id);
      if (l) l.push(c.email);
      else contacts.set(c.account_id, [c.email]);
    }
  }
  return mapRows(db, 'accounts', (r, at) => {
    const accountId = text(r, at.get('account_id')) ?? '';
    return {
      accountId,
      name: text(r, at.get('name')) ?? '',
      website: text(r, at.get('website')),
      domains: list(text(r, at.get('domains'))),
      parentAccountId: text(r, at.get('parent_account_id')),
      country: text(r, at.get('country')),
      duns: text(r, at.get('duns')),
      contactEmails: contacts.get(accountId) ?? [],
    };
  });
}

export async function readStagedSignals(db: Knex): Promise<SignalRecord[]> {
  await requireTable(db, 'partner_signals');
  return mapRows(db, 'partner_signals', (r, at) => ({
    signalId: text(r, at.get('signal_id')) ?? '',
    companyName: text(r, at.get('company_name')),
    website: text(r, at.get('website')),
    email: text(r, at.get('email')),
    country: text(r, at.get('country')),
    duns: text(r, at.get('duns')),
  }));
}

export interface StoredDecision {
  signalId: string;
  status: 'open' | 'accepted' | 'rejected';
  accountId: string | null;
}

export async function readDecisions(db: Knex): Promise<Map<string, StoredDecision>> {
  const rows = (await db(REVIEW_TABLE).whereIn('status', ['accepted', 'rejected']).select('signal_id', 'status', 'account_id')) as Row[];
  return new Map(rows.map((r) => [String(r.signal_id), { signalId: String(r.signal_id), status: r.status as StoredDecision['status'], accountId: r.account_id ?? null }]));
}

/** A stored decision overrides what the engine proposed. */
export function applyDecision(r: MatchResult, d: StoredDecision | undefined): MatchResult {
  if (!d || d.status === 'open') return r;
  if (d.status === 'accepted' && d.accountId)
    return { ...r, status: 'matched', accountId: d.accountId, confidence: 1, decidedBy: 'review', explanation: `accepted in review → ${d.accountId}. Engine: ${r.explanation}` };
  return { ...r, status: 'unmatched', accountId: null, confidence: 0, decidedBy: 'review', explanation: `rejected in review. Engine: ${r.explanation}` };
}

export interface StagedMatchSummary {
  signals: number;
  matched: number;
  review: number;
  unmatched: number;
  decidedByReview: number;
  cycles: string[][];
}

/** The columns of a `matches` row and of a new (open) `match_review` item, as `runStagedMatch` fills them. */
const MATCH_COLUMNS = ['signal_id', 'status', 'account_id', 'rule', 'confidence', 'candidate_account_ids', 'candidates', 'explanation', 'decided_by', 'run_id', 'matched_at'] as const;
const REVIEW_COLUMNS = ['signal_id', 'status', 'candidates', 'explanation', 'created_at'] as const;
type MatchRow = Record<(typeof MATCH_COLUMNS)[number], unknown>;
type ReviewRow = Record<(typeof REVIEW_COLUMNS)[number], unknown>;

/** What one signal writes: its `matches` row and, for a new doubtful signal, an open review item. */
interface SignalRows {
  match: MatchRow;
  review: ReviewRow | undefined;
}

/** Matches every staged signal, replaces `matches`, and opens review items for new doubtful signals. */
export async function runStagedMatch(db: Knex, policy: MatchPolicy, runId: string | null, now = new Date().toISOString()): Promise<StagedMatchSummary> {
  const accounts = await readStagedAccounts(db, policy);
  const signals = await readStagedSignals(db);
  const decisions = await readDecisions(db);
  const matcher = createMatcher(accounts, policy);
  const summary: StagedMatchSummary = { signals: 0, matched: 0, review: 0, unmatched: 0, decidedByReview: 0, cycles: matcher.index.cycles };
  // Rows are made as they are written, so a million results never sit in memory at once.
  const seen = new Set<string>();
  const rows = (function* (): Generator<SignalRows> {
    for (const s of signals) {
      // `matches` has one row per signal: a repeated id would fail the write with the database's own words.
      if (seen.has(s.signalId))
        throw new InputError(`partner_signals: signal_id "${s.signalId}" appears more than once`, {
          hint: 'signal ids must be unique: check the model that builds partner_signals; the previous matches are kept',
        });
      seen.add(s.signalId);
      const d = decisions.get(s.signalId);
      const r = applyDecision(matcher.match(s), d);
      summary.signals++;
      summary[r.status]++;
      if (r.decidedBy === 'review') summary.decidedByReview++;
      const candidates = JSON.stringify(r.candidates);
      yield {
        match: {
          signal_id: r.signalId, status: r.status, account_id: r.accountId, rule: r.rule, confidence: r.confidence,
          candidate_account_ids: r.candidates.map((c) => c.accountId).join(';'), candidates, explanation: r.explanation, decided_by: r.decidedBy ?? 'engine', run_id: runId, matched_at: now,
        },
        review: r.status === 'review' && !d ? { signal_id: r.signalId, status: 'open', candidates, explanation: r.explanation, created_at: now } : undefined,
      };
    }
  })();
  if (dialectOf(db) === 'sqlite') await writeSqlite(db, rows);
  else await writeBatched(db, rows);
  return summary;
}

/**
 * SQLite: one prepared statement per table, run row by row in one transaction on the connection knex
 * pools. Through knex, each batch was a new 500-row `INSERT … SELECT … UNION ALL` to build, escape and
 * compile: 200k matches took 9 s, nearly all of it there.
 */
async function writeSqlite(db: Knex, rows: Iterable<SignalRows>): Promise<void> {
  await withDriverConnection<Sqlite, void>(db, (conn) => {
    const insert = (table: string, cols: readonly string[]) => conn.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((c) => '@' + c).join(', ')})`);
    const match = insert(MATCHES_TABLE, MATCH_COLUMNS);
    const review = insert(REVIEW_TABLE, REVIEW_COLUMNS);
    // The secondary indexes of `matches` (as the migration made them: read back, not named here) are
    // dropped and made again around the insert, in the same transaction: built by sorting once, they
    // cost ~1.1 s at a million rows where keeping them up to date row by row cost ~3.1 s. Readers (WAL)
    // go on reading the previous results, indexes included, until the commit.
    const indexes = conn.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`).all(MATCHES_TABLE) as { name: string; sql: string }[];
    conn.transaction(() => {
      conn.prepare(`DELETE FROM ${MATCHES_TABLE}`).run();
      // Open items are refreshed with the engine's latest candidates; decided ones are left as people left them.
      conn.prepare(`DELETE FROM ${REVIEW_TABLE} WHERE status = 'open'`).run();
      for (const ix of indexes) conn.exec(`DROP INDEX "${ix.name}"`);
      for (const r of rows) {
        match.run(r.match);
        if (r.review) review.run(r.review);
      }
      for (const ix of indexes) conn.exec(ix.sql);
    })();
  });
}

/**
 * Postgres: one INSERT per few thousand rows, each column bound as one array and unnested, in one
 * transaction. knex's multi-row VALUES inserts (500 rows, 5,500 parameters each) kept the server parsing
 * and planning: 200k matches took 10.8 s, most of it waiting on Postgres.
 */
async function writeBatched(db: Knex, rows: Iterable<SignalRows>): Promise<void> {
  await db.transaction(async (trx) => {
    await trx(MATCHES_TABLE).delete();
    // Open items are refreshed with the engine's latest candidates; decided ones are left as people left them.
    await trx(REVIEW_TABLE).where('status', 'open').delete();
    // The indexes are kept up to date row by row here, not dropped and made again as on SQLite: DROP
    // INDEX would lock `matches` against readers (a dashboard, a model run) until the commit, where
    // now they read the previous results meanwhile.
    const matches = new ColumnBatch(MATCHES_TABLE, MATCH_COLUMNS);
    const reviews = new ColumnBatch(REVIEW_TABLE, REVIEW_COLUMNS);
    for (const r of rows) {
      if (matches.add(r.match) >= UNNEST_ROWS) await matches.flush(trx);
      if (r.review && reviews.add(r.review) >= UNNEST_ROWS) await reviews.flush(trx);
    }
    await matches.flush(trx);
    await reviews.flush(trx);
  });
}

/** Rows per unnest INSERT on Postgres: few statements, and arrays of a few MB at most. */
export const UNNEST_ROWS = 5_000;

/** Rows of one table gathered by column, written with `INSERT … SELECT * FROM unnest(arrays)`. */
class ColumnBatch<C extends string> {
  private values: unknown[][];
  private count = 0;
  constructor(
    private readonly table: string,
    private readonly columns: readonly C[],
  ) {
    this.values = columns.map(() => []);
  }
  /** Adds a row; returns how many rows are waiting. */
  add(row: Record<C, unknown>): number {
    for (let i = 0; i < this.columns.length; i++) this.values[i]!.push(row[this.columns[i]!]);
    return ++this.count;
  }
  async flush(trx: Knex.Transaction): Promise<void> {
    if (this.count === 0) return;
    // Text columns as text[] (Postgres casts to varchar on insert); the one number, confidence, as real[].
    const types = this.columns.map((c) => (c === 'confidence' ? 'real' : 'text'));
    await trx.raw(`INSERT INTO ${this.table} (${this.columns.join(', ')}) SELECT * FROM unnest(${types.map((t) => `?::${t}[]`).join(', ')})`, this.values);
    this.values = this.columns.map(() => []);
    this.count = 0;
  }
}

export interface ReviewItem {
  signalId: string;
  status: string;
  accountId: string | null;
  candidates: { accountId: string; rule: string; score: number; reason: string }[];
  explanation: string;
}

export async function listReview(db: Knex, status: 'open' | 'accepted' | 'rejected' | 'all' = 'open'): Promise<ReviewItem[]> {
  const q = db(REVIEW_TABLE).select('*').orderBy('signal_id');
  if (status !== 'all') q.where('status', status);
  return ((await q) as Row[]).map((r) => ({
    signalId: String(r.signal_id),
    status: String(r.status),
    accountId: r.account_id ?? null,
    candidates: JSON.parse(r.candidates ?? '[]'),
    explanation: r.explanation ?? '',
  }));
}

/**
 * Records a person's decision. `accept` without an account takes the engine's best candidate; a signal
 * not in the queue (e.g. an automatic match someone disputes) can be decided too, given an account.
 */
export async function decideReview(db: Knex, signalId: string, action: 'accept' | 'reject', accountId?: string, now = new Date().toISOString()): Promise<StoredDecision> {
  const existing = (await db(REVIEW_TABLE).where('signal_id', signalId).first()) as Row | undefined;
  const match = (await db(MATCHES_TABLE).where('signal_id', signalId).first()) as Row | undefined;
  if (!existing && !match) throw new InputError(`signal ${signalId} is neither in the review queue nor in matches`, { hint: 'run `partnersync match` first; `partnersync match review list` shows the queue' });
  let chosen: string | null = null;
  if (action === 'accept') {
    const candidates = JSON.parse(existing?.candidates ?? match?.candidates ?? '[]') as { accountId: string }[];
    chosen = accountId ?? candidates[0]?.accountId ?? match?.account_id ?? null;
    if (!chosen) throw new InputError(`signal ${signalId} has no candidate to accept`, { hint: 'name the account: partnersync match review accept <signalId> <accountId>' });
    if (await db.schema.hasTable('accounts')) {
      const exists = await db('accounts').where('account_id', chosen).first();
      if (!exists) throw new InputError(`account ${chosen} is not in the staged accounts`);
    }
  }
  const status = action === 'accept' ? 'accepted' : 'rejected';
  const row = { status, account_id: chosen, decided_at: now };
  if (existing) await db(REVIEW_TABLE).where('signal_id', signalId).update(row);
  else
    await db(REVIEW_TABLE).insert({ signal_id: signalId, ...row, candidates: match?.candidates ?? '[]', explanation: match?.explanation ?? '', created_at: now });
  // Reflect the decision in `matches` right away, so pushes need not wait for the next match run.
  if (match)
    await db(MATCHES_TABLE)
      .where('signal_id', signalId)
      .update({ status: action === 'accept' ? 'matched' : 'unmatched', account_id: chosen, confidence: action === 'accept' ? 1 : 0, decided_by: 'review' });
  return { signalId, status, accountId: chosen };
}
