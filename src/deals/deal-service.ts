import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { createMatcher, type Matcher } from '../matching/engine.js';
import { readStagedAccounts } from '../matching/staging-store.js';
import type { MatchPolicy, MatchResult } from '../matching/types.js';
import type { DealsConfig, DealStage } from './config.js';
import { ensureDealsTable } from './deal-tables.js';
import type { ConflictReason, Deal, DealInput, DealMatchStatus, DealPatch, DealStatus } from './schemas.js';

/**
 * What happens to a deal between the HTTP layer and staging: resolve the prospect to one of our
 * accounts with the matching engine, look for conflicts, store it, and answer in the partner's
 * terms. Reading and changing are always scoped to the calling partner: a deal of another partner
 * is indistinguishable from one that does not exist.
 *
 * Conflict checks and the insert run under one in-process lock, so two partners submitting the same
 * account at the same moment cannot both pass the check (one server process per staging database,
 * as `serve` runs; see the report of issue 10 for several processes on Postgres).
 *
 * @example
 *   const deals = new DealService({ db: staging.db, config: cfg.deals, policy: MatchPolicy.parse(cfg.match) });
 *   const row = await deals.submit('northwind', input, {});
 *   toDeal(row)   // → { id, status: 'submitted', match: { status: 'matched' }, conflict: null, … }
 */
export interface DealRow {
  deal_id: string;
  partner: string;
  status: DealStatus;
  match_status: DealMatchStatus;
  account_id: string | null;
  match_candidates: string | null;
  match_rule: string | null;
  match_confidence: number | null;
  prospect_key: string | null;
  conflict_reason: ConflictReason | null;
  conflict_detail: string | null;
  deal_name: string;
  company_name: string;
  company_website: string | null;
  company_country: string | null;
  contact_name: string | null;
  contact_email: string | null;
  stage: DealStage;
  amount_minor: number | null;
  currency: string | null;
  expected_close_date: string;
  partner_reference: string | null;
  notes: string | null;
  extra: string | null;
  registered_at: string;
  updated_at: string;
  accepted_at: string | null;
  rejected_at: string | null;
  decided_by: string | null;
  decision_note: string | null;
  opportunity_id: string | null;
}

const CONFLICT_MESSAGES: Record<ConflictReason, string> = {
  partner_registered: 'Another registration for this company is already under way; our partner team will review this deal.',
  open_opportunity: 'This company already has an open opportunity with us; our partner team will review this deal.',
};

/** The partner's view of a stored deal (no account ids, no other partner's name). */
export function toDeal(r: DealRow): Deal {
  return {
    id: r.deal_id,
    status: r.status,
    match: { status: r.match_status },
    conflict: r.status === 'conflict' && r.conflict_reason ? { reason: r.conflict_reason, message: CONFLICT_MESSAGES[r.conflict_reason] } : null,
    deal_name: r.deal_name,
    company_name: r.company_name,
    company_website: r.company_website ?? null,
    company_country: r.company_country ?? null,
    contact_name: r.contact_name ?? null,
    contact_email: r.contact_email ?? null,
    stage: r.stage,
    amount_minor: r.amount_minor === null || r.amount_minor === undefined ? null : Number(r.amount_minor),
    currency: r.currency ?? null,
    expected_close_date: r.expected_close_date,
    partner_reference: r.partner_reference ?? null,
    notes: r.notes ?? null,
    extra: r.extra ? (JSON.parse(r.extra) as Record<string, unknown>) : null,
    registered_at: r.registered_at,
    updated_at: r.updated_at,
    decided_at: r.accepted_at ?? r.rejected_at ?? null,
  };
}

/** A tiny async mutex: callers run one after another, in arrival order. */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

const MATCH_STATUS: Record<MatchResult['status'], DealMatchStatus> = { matched: 'matched', review: 'review', unmatched: 'new' };

/** Registrable domain of the website or a work e-mail, else the normalised name: the same prospect across partners. */
function prospectKey(r: MatchResult): string | null {
  const d = r.evidence.websiteDomains[0] ?? r.evidence.emailDomains[0];
  if (d) return `domain:${d}`;
  return r.evidence.nameKey ? `name:${r.evidence.nameKey}` : null;
}

export interface ListOptions {
  limit: number;
  cursor?: string;
  status?: DealStatus;
}

export type IdempotencyState =
  | { kind: 'new' }
  | { kind: 'replay'; status: number; body: string }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' };

export interface DealServiceOptions {
  db: Knex;
  config: DealsConfig;
  policy: MatchPolicy;
  now?: () => Date;
}

export class DealService {
  private readonly db: Knex;
  private readonly config: DealsConfig;
  private readonly policy: MatchPolicy;
  private readonly now: () => Date;
  private readonly serial = new Serial();
  private cached: { matcher: Matcher; builtAt: number } | undefined;
  private ready: Promise<void> | undefined;

  constructor(opts: DealServiceOptions) {
    this.db = opts.db;
    this.config = opts.config;
    this.policy = opts.policy;
    this.now = opts.now ?? (() => new Date());
  }

  init(): Promise<void> {
    this.ready ??= ensureDealsTable(this.db);
    return this.ready;
  }

  /** Forget the account index (tests, or after a model run): the next match rebuilds it. */
  refreshAccounts(): void {
    this.cached = undefined;
  }

  private async matcher(): Promise<Matcher> {
    const t = Date.now();
    if (this.cached && t - this.cached.builtAt < this.config.matchRefreshSeconds * 1000) return this.cached.matcher;
    // No `accounts` yet (a fresh project): every prospect is new, nothing fails.
    const accounts = (await this.db.schema.hasTable('accounts')) ? await readStagedAccounts(this.db, this.policy) : [];
    this.cached = { matcher: createMatcher(accounts, this.policy), builtAt: t };
    return this.cached.matcher;
  }

  private async resolve(dealId: string, d: Pick<DealRow, 'company_name' | 'company_website' | 'contact_email' | 'company_country'>) {
    const m = await this.matcher();
    const r = m.match({ signalId: dealId, companyName: d.company_name, website: d.company_website, email: d.contact_email, country: d.company_country });
    return {
      match_status: MATCH_STATUS[r.status],
      account_id: r.status === 'matched' ? r.accountId : null,
      match_candidates: JSON.stringify(r.candidates.slice(0, 5)),
      match_rule: r.rule,
      match_confidence: r.confidence,
      prospect_key: prospectKey(r),
    };
  }

  /** Another partner's live registration of the same account (or prospect) in the window, else an open opportunity. */
  private async conflict(trx: Knex, d: { deal_id: string; partner: string; account_id: string | null; prospect_key: string | null }): Promise<{ reason: ConflictReason; detail: string } | null> {
    const since = new Date(this.now().getTime() - this.config.conflictWindowDays * 86_400_000).toISOString();
    if (d.account_id || d.prospect_key) {
      const hit = (await trx('deals')
        .whereNot('partner', d.partner)
        .whereNot('deal_id', d.deal_id)
        // A registration already in conflict is a claim under review, not one that blocks others.
        .whereIn('status', ['submitted', 'accepted'])
        .where('registered_at', '>=', since)
        .where((b) => {
          if (d.account_id) b.orWhere('account_id', d.account_id);
          if (d.prospect_key) b.orWhere('prospect_key', d.prospect_key);
        })
        .orderBy('registered_at')
        .first('deal_id', 'partner', 'registered_at', 'account_id')) as Pick<DealRow, 'deal_id' | 'partner' | 'registered_at' | 'account_id'> | undefined;
      if (hit) return { reason: 'partner_registered', detail: `partner ${hit.partner} registered ${hit.account_id ? `account ${hit.account_id}` : 'the same prospect'} in deal ${hit.deal_id} at ${hit.registered_at}` };
    }
    if (d.account_id && (await trx.schema.hasTable('opportunities'))) {
      const cols = new Set(Object.keys(await trx('opportunities').columnInfo()));
      if (cols.has('account_id') && (cols.has('closed_at') || cols.has('is_closed'))) {
        const q = trx('opportunities').where('account_id', d.account_id);
        if (cols.has('is_closed')) q.where((b) => b.whereNull('is_closed').orWhereIn('is_closed', [false, 0, 'false', '0']));
        else q.where((b) => b.whereNull('closed_at').orWhere('closed_at', ''));
        const opp = (await q.first(cols.has('opportunity_id') ? 'opportunity_id' : 'account_id')) as Record<string, string> | undefined;
        if (opp) return { reason: 'open_opportunity', detail: `account ${d.account_id} has the open opportunity ${opp.opportunity_id ?? '(no id)'}` };
      }
    }
    return null;
  }

  /**
   * Store a new deal. With `idempotency`, the reserved key is completed with the response in the
   * same transaction as the insert: a retry after a crash finds either both or neither.
   */
  async submit(partner: string, input: DealInput, extra: Record<string, unknown>, idempotency?: { key: string; respond: (row: DealRow) => { status: number; body: string } }): Promise<DealRow> {
    await this.init();
    const deal_id = `dl_${crypto.randomBytes(12).toString('hex')}`;
    const base = normalise(input);
    const match = await this.resolve(deal_id, base);
    return this.serial.run(async () =>
      this.db.transaction(async (trx) => {
        const now = this.now().toISOString();
        const c = await this.conflict(trx, { deal_id, partner, account_id: match.account_id, prospect_key: match.prospect_key });
        const row: DealRow = {
          deal_id,
          partner,
          status: c ? 'conflict' : 'submitted',
          ...match,
          conflict_reason: c?.reason ?? null,
          conflict_detail: c?.detail ?? null,
          ...base,
          extra: Object.keys(extra).length ? JSON.stringify(extra) : null,
          registered_at: now,
          updated_at: now,
          accepted_at: null,
          rejected_at: null,
          decided_by: null,
          decision_note: null,
          opportunity_id: null,
        };
        await trx('deals').insert(row);
        if (idempotency) {
          const r = idempotency.respond(row);
          await trx('deal_idempotency').where({ partner, idem_key: idempotency.key }).update({ state: 'done', status_code: r.status, response: r.body, deal_id, updated_at: now });
        }
        return row;
      }),
    );
  }

  async get(partner: string, id: string): Promise<DealRow | undefined> {
    await this.init();
    return (await this.db('deals').where({ deal_id: id, partner }).first()) as DealRow | undefined;
  }

  async list(partner: string, opts: ListOptions): Promise<{ rows: DealRow[]; nextCursor: string | null } | 'bad_cursor'> {
    await this.init();
    const q = this.db('deals').where({ partner });
    if (opts.status) q.where('status', opts.status);
    if (opts.cursor) {
      const c = decodeCursor(opts.cursor);
      if (!c) return 'bad_cursor';
      q.where((b) => b.where('registered_at', '<', c.at).orWhere((b2) => b2.where('registered_at', c.at).where('deal_id', '<', c.id)));
    }
    const rows = (await q.orderBy([{ column: 'registered_at', order: 'desc' }, { column: 'deal_id', order: 'desc' }]).limit(opts.limit + 1)) as DealRow[];
    const more = rows.length > opts.limit;
    const page = more ? rows.slice(0, opts.limit) : rows;
    const last = page[page.length - 1];
    return { rows: page, nextCursor: more && last ? encodeCursor(last.registered_at, last.deal_id) : null };
  }

  /** Change a deal that is not decided yet; matching and conflicts are evaluated again. */
  async patch(partner: string, id: string, changes: DealPatch, extra?: Record<string, unknown>): Promise<{ ok: true; row: DealRow } | { ok: false; reason: 'not_found' | 'locked' | 'invalid'; detail?: string }> {
    await this.init();
    return this.serial.run(async () => {
      const cur = (await this.db('deals').where({ deal_id: id, partner }).first()) as DealRow | undefined;
      if (!cur) return { ok: false as const, reason: 'not_found' as const };
      if (cur.status === 'accepted' || cur.status === 'rejected') return { ok: false as const, reason: 'locked' as const, detail: `the deal is ${cur.status}` };
      const merged = { ...cur, ...Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) } as DealRow;
      if (merged.amount_minor !== null && merged.amount_minor !== undefined && !merged.currency) return { ok: false as const, reason: 'invalid' as const, detail: 'currency is required with amount_minor' };
      const next = { ...merged, ...normalise(merged as unknown as DealInput) };
      const evidenceChanged = (['company_name', 'company_website', 'contact_email', 'company_country'] as const).some((k) => next[k] !== cur[k]);
      const match = evidenceChanged ? await this.resolve(id, next) : {};
      return this.db.transaction(async (trx) => {
        const candidate = { ...next, ...match };
        const c = await this.conflict(trx, candidate);
        const row: DealRow = {
          ...candidate,
          status: c ? 'conflict' : 'submitted',
          conflict_reason: c?.reason ?? null,
          conflict_detail: c?.detail ?? null,
          extra: extra && Object.keys(extra).length ? JSON.stringify({ ...(cur.extra ? JSON.parse(cur.extra) : {}), ...extra }) : cur.extra,
          updated_at: this.now().toISOString(),
        };
        const { deal_id: _id, partner: _p, registered_at: _r, ...update } = row;
        await trx('deals').where({ deal_id: id, partner }).update(update);
        return { ok: true as const, row };
      });
    });
  }

  /** Reserve (partner, key) for a request with this body hash, or say what the earlier request left. */
  async reserveIdempotency(partner: string, key: string, requestHash: string, staleAfterMs = 30_000): Promise<IdempotencyState> {
    await this.init();
    const now = this.now().toISOString();
    const inserted = await this.db('deal_idempotency')
      .insert({ partner, idem_key: key, request_hash: requestHash, state: 'pending', created_at: now, updated_at: now })
      .onConflict(['partner', 'idem_key'])
      .ignore()
      .returning(['idem_key']);
    if (inserted.length === 1) return { kind: 'new' };
    const row = (await this.db('deal_idempotency').where({ partner, idem_key: key }).first()) as Record<string, string | number | null> | undefined;
    if (!row) return this.reserveIdempotency(partner, key, requestHash, staleAfterMs);
    if (row.request_hash !== requestHash) return { kind: 'mismatch' };
    if (row.state === 'done') return { kind: 'replay', status: Number(row.status_code), body: String(row.response) };
    // A reservation whose request died (crash, kill -9) is taken over after a while; one taker wins.
    if (Date.parse(String(row.updated_at)) < this.now().getTime() - staleAfterMs) {
      const n = await this.db('deal_idempotency').where({ partner, idem_key: key, updated_at: row.updated_at, state: 'pending' }).update({ updated_at: now });
      if (n === 1) return { kind: 'new' };
    }
    return { kind: 'in_progress' };
  }

  /** Drop a reservation whose request failed before storing anything (so a retry can run). */
  async releaseIdempotency(partner: string, key: string): Promise<void> {
    await this.db('deal_idempotency').where({ partner, idem_key: key, state: 'pending' }).delete();
  }
}

/** Canonical spellings before storage: country in capitals, blanks as null. */
function normalise(d: DealInput): Pick<
  DealRow,
  'deal_name' | 'company_name' | 'company_website' | 'company_country' | 'contact_name' | 'contact_email' | 'stage' | 'amount_minor' | 'currency' | 'expected_close_date' | 'partner_reference' | 'notes'
> {
  const s = (v: string | null | undefined) => (v === undefined || v === null || v.trim() === '' ? null : v.trim());
  return {
    deal_name: d.deal_name.trim(),
    company_name: d.company_name.trim(),
    company_website: s(d.company_website),
    company_country: s(d.company_country)?.toUpperCase() ?? null,
    contact_name: s(d.contact_name),
    contact_email: s(d.contact_email),
    stage: d.stage,
    amount_minor: d.amount_minor ?? null,
    currency: s(d.currency),
    expected_close_date: d.expected_close_date,
    partner_reference: s(d.partner_reference),
    notes: d.notes ?? null,
  };
}

function encodeCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

function decodeCursor(c: string): { at: string; id: string } | undefined {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return { at: v[0], id: v[1] };
  } catch {
    /* fall through */
  }
  return undefined;
}
