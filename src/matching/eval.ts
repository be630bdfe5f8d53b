/**
 * Scores match results against a labelled gold set: precision first (a wrong automatic match is the
 * expensive error), then recall, review rate, and the two error kinds that matter most: a wrong account
 * inside the right hierarchy, and any match for a company that is not in the CRM at all.
 *
 * @example
 *   const report = evaluateMatches(results, gold, index);
 *   report.overall.precision   // correct matched / all matched
 *   formatEvalReport(report)   // a terminal table, overall and per stratum
 */
import type { AccountIndex } from './account-index.js';
import type { MatchResult } from './types.js';

export interface GoldRow {
  signalId: string;
  /** '' or null: the company is not among our accounts; nothing may be matched. */
  expectedAccountId: string | null;
  stratum?: string | null;
}

export interface EvalMetrics {
  signals: number;
  /** Signals whose gold names an account. */
  positives: number;
  matched: number;
  correct: number;
  review: number;
  unmatched: number;
  /** Matched to a wrong account. */
  wrong: number;
  /** Matched to the wrong account inside the right hierarchy. */
  hierarchyFalseMerges: number;
  /** Matched although the gold says the company is not ours. */
  negativeFalseAutos: number;
  negatives: number;
  precision: number;
  recall: number;
  f1: number;
  reviewRate: number;
  negativeFalseAutoRate: number;
}

export interface EvalReport {
  overall: EvalMetrics;
  byStratum: Record<string, EvalMetrics>;
  /** Signals in the results without a gold row (not scored). */
  unlabelled: number;
  /** Gold rows without a result. */
  missing: number;
  /** Every wrong match, for inspection. */
  errors: { signalId: string; stratum: string; expected: string | null; got: string; rule: string | null }[];
}

function emptyCounts(): EvalMetrics {
  return {
    signals: 0, positives: 0, matched: 0, correct: 0, review: 0, unmatched: 0, wrong: 0,
    hierarchyFalseMerges: 0, negativeFalseAutos: 0, negatives: 0,
    precision: 0, recall: 0, f1: 0, reviewRate: 0, negativeFalseAutoRate: 0,
  };
}

function finish(m: EvalMetrics): EvalMetrics {
  // An empty denominator is a perfect score for that metric: nothing was matched, so nothing was wrong.
  m.precision = m.matched === 0 ? 1 : m.correct / m.matched;
  m.recall = m.positives === 0 ? 1 : m.correct / m.positives;
  m.f1 = m.precision + m.recall === 0 ? 0 : (2 * m.precision * m.recall) / (m.precision + m.recall);
  m.reviewRate = m.signals === 0 ? 0 : m.review / m.signals;
  m.negativeFalseAutoRate = m.negatives === 0 ? 0 : m.negativeFalseAutos / m.negatives;
  return m;
}

/**
 * @param index optional: with it, a wrong match inside the expected account's hierarchy counts as a
 *   hierarchy false merge.
 */
export function evaluateMatches(results: readonly MatchResult[], gold: readonly GoldRow[], index?: AccountIndex): EvalReport {
  const bySignal = new Map(results.map((r) => [r.signalId, r]));
  const overall = emptyCounts();
  const byStratum: Record<string, EvalMetrics> = {};
  const errors: EvalReport['errors'] = [];
  const goldIds = new Set<string>();
  let missing = 0;
  const rootOf = (id: string): number | undefined => {
    const i = index?.byId.get(id);
    return i === undefined ? undefined : index!.root[i]!;
  };
  for (const g of gold) {
    goldIds.add(g.signalId);
    const r = bySignal.get(g.signalId);
    if (!r) {
      missing++;
      continue;
    }
    const stratum = g.stratum || '(none)';
    const buckets = [overall, (byStratum[stratum] ??= emptyCounts())];
    const expected = g.expectedAccountId || null;
    for (const m of buckets) {
      m.signals++;
      if (expected) m.positives++;
      else m.negatives++;
      if (r.status === 'review') m.review++;
      else if (r.status === 'unmatched') m.unmatched++;
      else {
        m.matched++;
        if (r.accountId === expected) m.correct++;
        else {
          m.wrong++;
          if (!expected) m.negativeFalseAutos++;
          else {
            const a = rootOf(expected);
            if (a !== undefined && a === rootOf(r.accountId!)) m.hierarchyFalseMerges++;
          }
        }
      }
    }
    if (r.status === 'matched' && r.accountId !== expected)
      errors.push({ signalId: g.signalId, stratum, expected, got: r.accountId!, rule: r.rule });
  }
  finish(overall);
  for (const m of Object.values(byStratum)) finish(m);
  const unlabelled = results.filter((r) => !goldIds.has(r.signalId)).length;
  return { overall, byStratum, unlabelled, missing, errors };
}

const pct = (x: number): string => (x * 100).toFixed(2) + '%';
const num = (x: number): string => x.toFixed(4);

/** A fixed-width table: one row per stratum, then the overall row. */
export function formatEvalReport(report: EvalReport): string {
  const head = ['stratum', 'signals', 'matched', 'correct', 'review', 'unmatched', 'precision', 'recall', 'F1', 'review%', 'hier.FM', 'neg.auto'];
  const row = (name: string, m: EvalMetrics): string[] => [
    name, String(m.signals), String(m.matched), String(m.correct), String(m.review), String(m.unmatched),
    num(m.precision), num(m.recall), num(m.f1), pct(m.reviewRate), String(m.hierarchyFalseMerges),
    m.negatives ? `${m.negativeFalseAutos}/${m.negatives}` : '-',
  ];
  const rows = [head, ...Object.keys(report.byStratum).sort().map((k) => row(k, report.byStratum[k]!)), row('OVERALL', report.overall)];
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = rows.map(line);
  out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  out.splice(out.length - 1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const o = report.overall;
  out.push(
    '',
    `precision ${num(o.precision)}  recall ${num(o.recall)}  F1 ${num(o.f1)}  review rate ${pct(o.reviewRate)}  ` +
      `hierarchy false merges ${o.hierarchyFalseMerges}  negative false-auto rate ${pct(o.negativeFalseAutoRate)}`,
  );
  if (report.missing) out.push(`${report.missing} gold rows had no result`);
  if (report.unlabelled) out.push(`${report.unlabelled} results had no gold row (not scored)`);
  for (const e of report.errors.slice(0, 20))
    out.push(`wrong: ${e.signalId} [${e.stratum}] expected ${e.expected ?? '(none)'} got ${e.got} by ${e.rule}`);
  return out.join('\n');
}
