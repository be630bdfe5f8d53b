import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { InputError } from '../errors.js';
import { nowIso } from '../staging/db.js';
import { ENTRY_FIELDS, entryOrder } from './compute.js';
import { cmp } from './money-split.js';
import type { AttributionEntry, EntryKind, LedgerKind } from './types.js';

/**
 * The append-only `attribution_ledger`. Reading, planning and diffing are pure functions over rows;
 * `postAttribution` is the only writer and only ever inserts.
 */
export interface LedgerEntry extends Omit<AttributionEntry, 'kind'> {
  seq: number;
  entryId: string;
  kind: LedgerKind;
  /** For reversals: the kind of the line they cancel. */
  reversedKind: EntryKind | null;
  reversesEntryId: string | null;
  asOf: string;
  computedAt: string;
  runId: string | null;
}

export async function readLedger(db: Knex): Promise<LedgerEntry[]> {
  const rows = await db('attribution_ledger').select('*').orderBy('seq');
  return rows.map((r) => ({
    seq: Number(r.seq),
    entryId: r.entry_id,
    positionId: r.position_id,
    asOf: r.as_of,
    computedAt: r.computed_at,
    runId: r.run_id ?? null,
    partner: r.partner,
    opportunityId: r.opportunity_id,
    accountId: r.account_id,
    kind: r.kind,
    reversedKind: r.reversed_kind ?? null,
    creditKind: r.credit_kind,
    stage: r.stage,
    shareBps: Number(r.share_bps),
    share: r.share,
    basisMinor: Number(r.basis_minor),
    amountMinor: Number(r.amount_minor),
    currency: r.currency,
    ruleVersion: r.rule_version,
    effectiveAt: r.effective_at,
    evidence: JSON.parse(r.evidence),
    note: r.note,
    reversesEntryId: r.reverses_entry_id ?? null,
  }));
}

/**
 * What the ledger said as of `asOf` (everything when omitted): the posted lines not reversed by then.
 * As attribution entries, in canonical order, so they compare byte for byte with a replay.
 */
export function openEntries(ledger: LedgerEntry[], asOf?: string): Array<LedgerEntry & { kind: EntryKind }> {
  const upTo = asOf === undefined ? ledger : ledger.filter((e) => Date.parse(e.asOf) <= Date.parse(asOf));
  const reversed = new Set(upTo.filter((e) => e.reversesEntryId).map((e) => e.reversesEntryId!));
  return upTo.filter((e): e is LedgerEntry & { kind: EntryKind } => e.kind !== 'reversal' && !reversed.has(e.entryId)).sort(entryOrder);
}

/** Strip ledger bookkeeping: the attribution line itself. */
export function asEntry(e: AttributionEntry | (LedgerEntry & { kind: EntryKind })): AttributionEntry {
  return Object.fromEntries(ENTRY_FIELDS.map((f) => [f, e[f]])) as unknown as AttributionEntry;
}

export interface PostingPlan {
  asOf: string;
  reversals: Array<LedgerEntry & { kind: EntryKind }>;
  additions: AttributionEntry[];
  unchanged: number;
}

/**
 * Pure: which recorded lines to reverse and which new ones to post so the open ledger equals `target`.
 * Lines are matched by content hash, so an unchanged number is left alone and any change at all
 * (amount, share, evidence, rule version) is a reversal plus a new line.
 */
export function planPosting(open: Array<LedgerEntry & { kind: EntryKind }>, target: AttributionEntry[], asOf: string): PostingPlan {
  const want = new Set(target.map((e) => e.positionId));
  const have = new Set(open.map((e) => e.positionId));
  return {
    asOf,
    reversals: open.filter((e) => !want.has(e.positionId)),
    additions: target.filter((e) => !have.has(e.positionId)),
    unchanged: target.filter((e) => have.has(e.positionId)).length,
  };
}

/**
 * Append the plan to the ledger in one transaction. Refuses to post at an as-of earlier than what the
 * ledger already holds: history is replayed (`--as-of`), never rewritten.
 */
export async function postAttribution(db: Knex, plan: PostingPlan, opts: { runId?: string; computedAt?: string } = {}): Promise<{ reversed: number; added: number }> {
  const computedAt = opts.computedAt ?? nowIso();
  return db.transaction(async (trx) => {
    const latest = (await trx('attribution_ledger').max({ m: 'as_of' }).first())?.m as string | null | undefined;
    if (latest && Date.parse(latest) > Date.parse(plan.asOf)) {
      throw new InputError(`the attribution ledger already has entries as of ${latest}, later than ${plan.asOf}`, {
        code: 'LEDGER_AS_OF_PAST',
        hint: 'to reproduce an earlier result use `partnersync attribute --as-of <date>` (it prints and posts nothing)',
      });
    }
    const count = Number((await trx('attribution_ledger').count({ n: '*' }).first())?.n ?? 0);
    let n = count;
    // Ids are unique per posting position in the ledger, yet stable: the same ledger and plan give the same ids.
    const id = (...parts: string[]) => crypto.createHash('sha256').update([plan.asOf, String(n++), ...parts].join('|')).digest('hex').slice(0, 24);
    const rows: Record<string, unknown>[] = [];
    const common = (e: AttributionEntry | LedgerEntry) => ({
      position_id: e.positionId,
      as_of: plan.asOf,
      computed_at: computedAt,
      run_id: opts.runId ?? null,
      partner: e.partner,
      opportunity_id: e.opportunityId,
      account_id: e.accountId,
      credit_kind: e.creditKind,
      stage: e.stage,
      share_bps: e.shareBps,
      share: e.share,
      basis_minor: e.basisMinor,
      currency: e.currency,
      rule_version: e.ruleVersion,
      effective_at: e.effectiveAt,
      evidence: JSON.stringify(e.evidence),
    });
    for (const r of plan.reversals) {
      rows.push({ ...common(r), entry_id: id('reversal', r.entryId), kind: 'reversal', reversed_kind: r.kind, amount_minor: -r.amountMinor, note: `reverses ${r.entryId}: ${r.note}`, reverses_entry_id: r.entryId });
    }
    for (const a of plan.additions) {
      rows.push({ ...common(a), entry_id: id(a.positionId), kind: a.kind, reversed_kind: null, amount_minor: a.amountMinor, note: a.note, reverses_entry_id: null });
    }
    for (let i = 0; i < rows.length; i += 200) await trx('attribution_ledger').insert(rows.slice(i, i + 200));
    return { reversed: plan.reversals.length, added: plan.additions.length };
  });
}

export interface DiffLine {
  opportunityId: string;
  partner: string;
  kind: EntryKind;
  creditKind: string;
  currency: string;
  change: 'added' | 'removed' | 'changed';
  recordedMinor: number;
  computedMinor: number;
  deltaMinor: number;
  recordedRules: string | null;
  computedRules: string | null;
}

/**
 * Pure: what changed between the recorded (paid) lines and a computation, per opportunity, partner,
 * kind and currency. Lines whose amount stayed the same but whose basis changed (rules, evidence)
 * show as `changed` with a zero delta.
 */
export function diffEntries(recorded: AttributionEntry[], computed: AttributionEntry[]): DiffLine[] {
  type Side = { amount: number; ids: string[]; rules: Set<string> };
  const key = (e: AttributionEntry) => [e.opportunityId, e.partner, e.kind, e.creditKind, e.currency].join('\u0000');
  const fold = (xs: AttributionEntry[]) => {
    const m = new Map<string, Side & { e: AttributionEntry }>();
    for (const e of xs) {
      const s = m.get(key(e)) ?? { amount: 0, ids: [], rules: new Set<string>(), e };
      s.amount += e.amountMinor;
      s.ids.push(e.positionId);
      s.rules.add(e.ruleVersion);
      m.set(key(e), s);
    }
    return m;
  };
  const before = fold(recorded);
  const after = fold(computed);
  const out: DiffLine[] = [];
  for (const k of [...new Set([...before.keys(), ...after.keys()])].sort(cmp)) {
    const b = before.get(k);
    const a = after.get(k);
    const same = b && a && b.ids.sort(cmp).join() === a.ids.sort(cmp).join();
    if (same) continue;
    const e = (a ?? b)!.e;
    out.push({
      opportunityId: e.opportunityId,
      partner: e.partner,
      kind: e.kind,
      creditKind: e.creditKind,
      currency: e.currency,
      change: !b ? 'added' : !a ? 'removed' : 'changed',
      recordedMinor: b?.amount ?? 0,
      computedMinor: a?.amount ?? 0,
      deltaMinor: (a?.amount ?? 0) - (b?.amount ?? 0),
      recordedRules: b ? [...b.rules].sort(cmp).join(',') : null,
      computedRules: a ? [...a.rules].sort(cmp).join(',') : null,
    });
  }
  return out;
}
