import { UsageError } from '../errors.js';
import { ENTRY_FIELDS } from './compute.js';
import { cmp } from './money-split.js';
import type { AttributionEntry } from './types.js';

/** A half-open range of instants [from, to) and how to call it. */
export interface Period {
  label: string;
  from: string;
  to: string;
}

/**
 * `--period`: `2024`, `2024-Q2`, `2024-03`, or `2024-01-01..2024-06-30` (both days included).
 *
 * @example parsePeriod('2024-Q2') // { label: '2024-Q2', from: '2024-04-01T00:00:00.000Z', to: '2024-07-01T00:00:00.000Z' }
 */
export function parsePeriod(value: string): Period {
  const v = value.trim();
  const utc = (y: number, m: number, d = 1) => new Date(Date.UTC(y, m, d)).toISOString();
  let m: RegExpMatchArray | null;
  if ((m = v.match(/^(\d{4})$/))) return { label: v, from: utc(+m[1]!, 0), to: utc(+m[1]! + 1, 0) };
  if ((m = v.match(/^(\d{4})-?Q([1-4])$/i))) {
    const q = +m[2]! - 1;
    return { label: `${m[1]}-Q${q + 1}`, from: utc(+m[1]!, q * 3), to: utc(+m[1]!, q * 3 + 3) };
  }
  if ((m = v.match(/^(\d{4})-(\d{2})$/)) && +m[2]! >= 1 && +m[2]! <= 12) return { label: v, from: utc(+m[1]!, +m[2]! - 1), to: utc(+m[1]!, +m[2]!) };
  if ((m = v.match(/^(\d{4})-(\d{2})-(\d{2})\.\.(\d{4})-(\d{2})-(\d{2})$/))) {
    const from = utc(+m[1]!, +m[2]! - 1, +m[3]!);
    const to = utc(+m[4]!, +m[5]! - 1, +m[6]! + 1);
    if (from < to) return { label: v, from, to };
  }
  throw new UsageError(`--period: "${value}" is not a period`, { hint: 'use 2024, 2024-Q2, 2024-03 or 2024-01-01..2024-06-30' });
}

export interface ReportRow {
  partner: string;
  currency: string;
  sourcedPipelineMinor: number;
  influencedPipelineMinor: number;
  sourcedRevenueMinor: number;
  influencedRevenueMinor: number;
  commissionsMinor: number;
  clawbacksMinor: number;
  netMinor: number;
}

/**
 * Per partner and currency (never converted) for one period. Pipeline is credit on opportunities
 * still open, dated by creation; revenue is credit on won ones, dated by close; commissions by
 * close; clawbacks (negative) by churn. Net = commissions + clawbacks.
 */
export function buildReport(entries: AttributionEntry[], period: Period): ReportRow[] {
  const from = Date.parse(period.from);
  const to = Date.parse(period.to);
  const rows = new Map<string, ReportRow>();
  for (const e of entries) {
    const at = Date.parse(e.effectiveAt);
    if (at < from || at >= to) continue;
    const k = `${e.partner}\u0000${e.currency}`;
    const r = rows.get(k) ?? { partner: e.partner, currency: e.currency, sourcedPipelineMinor: 0, influencedPipelineMinor: 0, sourcedRevenueMinor: 0, influencedRevenueMinor: 0, commissionsMinor: 0, clawbacksMinor: 0, netMinor: 0 };
    if (e.kind === 'sourced_credit') r[e.stage === 'won' ? 'sourcedRevenueMinor' : 'sourcedPipelineMinor'] += e.amountMinor;
    else if (e.kind === 'influenced_credit') r[e.stage === 'won' ? 'influencedRevenueMinor' : 'influencedPipelineMinor'] += e.amountMinor;
    else if (e.kind === 'commission') r.commissionsMinor += e.amountMinor;
    else r.clawbacksMinor += e.amountMinor;
    r.netMinor = r.commissionsMinor + r.clawbacksMinor;
    rows.set(k, r);
  }
  return [...rows.values()].sort((a, b) => cmp(a.partner, b.partner) || cmp(a.currency, b.currency));
}

export const REPORT_COLUMNS = ['partner', 'currency', 'sourcedPipelineMinor', 'influencedPipelineMinor', 'sourcedRevenueMinor', 'influencedRevenueMinor', 'commissionsMinor', 'clawbacksMinor', 'netMinor'] as const;

/** Minor units as a major-unit string for people (`123456` → `1234.56`), by integer arithmetic. */
export function formatMinor(n: number, digits = 2): string {
  const neg = n < 0;
  const s = String(Math.abs(n)).padStart(digits + 1, '0');
  return `${neg ? '-' : ''}${s.slice(0, -digits)}.${s.slice(-digits)}`;
}

export function toCsv(rows: Array<Record<string, unknown>>, columns: readonly string[]): string {
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : Array.isArray(v) ? v.join(';') : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `${[columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\n')}\n`;
}

/** The canonical serialisations of attribution lines: a replay and the ledger compare equal as text. */
export const entriesToCsv = (entries: AttributionEntry[]) => toCsv(entries as unknown as Array<Record<string, unknown>>, ENTRY_FIELDS);
export const entriesToJson = (entries: AttributionEntry[]) => `${JSON.stringify(entries.map((e) => Object.fromEntries(ENTRY_FIELDS.map((f) => [f, e[f]]))), null, 2)}\n`;
