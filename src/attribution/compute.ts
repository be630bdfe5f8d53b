import crypto from 'node:crypto';
import type { CommissionRule, RuleSet, SplitPolicy, TouchKind } from './config.js';
import { cmp, divRound, largestRemainder, ratio, toSafe, type Weighted } from './money-split.js';
import type { AttributionEntry, AttributionInputs, AttributionResult, ChurnEvent, EntryKind, Opportunity, OpportunityExplanation, PartnerTouch, TouchDecision } from './types.js';

const DAY_MS = 86_400_000;
const BPS = 10_000n;

/**
 * The attribution core: a pure function of (inputs, rules, as-of). Nothing here reads a clock, a
 * database or the environment, and every collection is sorted before use, so the same arguments give
 * byte-identical entries — which is what makes `attribute --as-of <date> --rules <v>` a faithful replay.
 *
 * Only facts known at `asOf` count: opportunities created, touches made, closes and churns that
 * happened on or before it. An opportunity that closed later is still open as of then.
 *
 * @example
 *   const r = computeAttribution(inputs, config.rules.v2, { asOf: '2024-06-30T23:59:59.999Z', ruleVersion: 'v2' });
 *   r.entries.filter((e) => e.kind === 'commission');
 */
export function computeAttribution(inputs: AttributionInputs, rules: RuleSet, opts: { asOf: string; ruleVersion: string }): AttributionResult {
  const asOf = opts.asOf;
  const asOfMs = ms(asOf, 'as-of');
  const known = <T>(xs: T[], at: (x: T) => string) => xs.filter((x) => ms(at(x), 'timestamp') <= asOfMs);
  const opportunities = known(inputs.opportunities, (o) => o.createdAt).sort((a, b) => cmp(a.opportunityId, b.opportunityId));
  const touches = known(inputs.touches, (t) => (t.knownAt && ms(t.knownAt) > ms(t.touchedAt) ? t.knownAt : t.touchedAt)).sort((a, b) => ms(a.touchedAt) - ms(b.touchedAt) || cmp(a.touchId, b.touchId));
  const churns = known(inputs.churnEvents, (c) => c.churnedAt).sort((a, b) => ms(a.churnedAt) - ms(b.churnedAt) || cmp(a.churnId, b.churnId));
  const warnings: string[] = [];
  const base = { ruleVersion: opts.ruleVersion };

  const byOpp = groupBy(touches.filter((t) => t.opportunityId), (t) => t.opportunityId!);
  const byAccount = groupBy(touches.filter((t) => !t.opportunityId && t.accountId), (t) => t.accountId!);

  const explanations: OpportunityExplanation[] = [];
  const credits: AttributionEntry[] = [];
  for (const opp of opportunities) {
    const closed = opp.closedAt !== null && ms(opp.closedAt) <= asOfMs;
    const stage = closed ? (opp.isWon ? 'won' : 'lost') : 'open';
    const createdMs = ms(opp.createdAt);
    const openUntilMs = closed ? ms(opp.closedAt!) : asOfMs;
    const relevant = [...(byOpp.get(opp.opportunityId) ?? []), ...(byAccount.get(opp.accountId) ?? [])].sort((a, b) => ms(a.touchedAt) - ms(b.touchedAt) || cmp(a.touchId, b.touchId));
    const decisions: TouchDecision[] = relevant.map((t) => decide(t, rules, createdMs, openUntilMs));
    const ex: OpportunityExplanation = { opportunity: opp, stage, touches: decisions, splits: [], entries: [] };
    explanations.push(ex);
    if (stage === 'lost') continue; // a lost deal earns no credit; earlier pipeline credit gets reversed by the ledger

    for (const creditKind of ['sourced', 'influenced'] as const) {
      const mine = relevant.filter((_, i) => decisions[i]!.decision === creditKind);
      if (mine.length === 0) continue;
      const policy = rules[creditKind].split;
      const { weights, how } = splitWeights(mine, policy, opp.opportunityId);
      const total = weights.reduce((a, w) => a + BigInt(w.weight), 0n);
      const bps = largestRemainder(BPS, weights);
      const amounts = largestRemainder(BigInt(opp.amountMinor), weights);
      const split = { creditKind, policy: how, partners: [] as OpportunityExplanation['splits'][number]['partners'] };
      for (const w of [...weights].sort((a, b) => cmp(a.partner, b.partner))) {
        const shareBps = toSafe(bps.get(w.partner)!, 'share');
        const amountMinor = toSafe(amounts.get(w.partner)!, 'amount');
        const share = ratio(BigInt(w.weight), total);
        split.partners.push({ partner: w.partner, weight: w.weight, shareBps, share, amountMinor });
        credits.push(entry({
          ...base,
          opportunityId: opp.opportunityId,
          accountId: opp.accountId,
          partner: w.partner,
          kind: `${creditKind}_credit` as EntryKind,
          creditKind,
          stage: stage === 'won' ? 'won' : 'open',
          shareBps,
          share,
          basisMinor: opp.amountMinor,
          amountMinor,
          currency: opp.currency,
          effectiveAt: stage === 'won' ? opp.closedAt! : opp.createdAt,
          evidence: mine.filter((t) => t.partner === w.partner).map((t) => t.touchId),
          note: `${creditKind} credit, ${how}: weight ${w.weight}/${total} of ${opp.amountMinor} ${opp.currency} = ${amountMinor} (largest remainder)`,
        }));
      }
      ex.splits.push(split);
    }
  }

  const commissions = computeCommissions(credits, opportunities, rules, warnings);
  const clawbacks = computeClawbacks(commissions, opportunities, churns, rules, warnings);
  const entries = [...credits, ...commissions, ...clawbacks].sort(entryOrder);
  const byOppEx = new Map(explanations.map((e) => [e.opportunity.opportunityId, e]));
  for (const e of entries) byOppEx.get(e.opportunityId)?.entries.push(e);
  return { asOf, ruleVersion: opts.ruleVersion, entries, explanations, warnings };
}

function decide(t: PartnerTouch, rules: RuleSet, createdMs: number, openUntilMs: number): TouchDecision {
  const at = ms(t.touchedAt);
  const base = { touchId: t.touchId, partner: t.partner, kind: t.kind, touchedAt: t.touchedAt };
  const s = rules.sourced;
  const daysBefore = (createdMs - at) / DAY_MS;
  if (s.kinds.includes(t.kind) && daysBefore <= s.windowDays && -daysBefore <= s.graceDays) {
    return { ...base, decision: 'sourced', reason: at <= createdMs ? `${t.kind} ${fmtDays(daysBefore)} before the opportunity was created (window ${s.windowDays}d)` : `${t.kind} ${fmtDays(-daysBefore)} after creation, within the ${s.graceDays}d grace` };
  }
  if (rules.influenced.kinds.includes(t.kind) && at >= createdMs && at <= openUntilMs) {
    return { ...base, decision: 'influenced', reason: `${t.kind} while the opportunity was open` };
  }
  let reason: string;
  if (at < createdMs) reason = s.kinds.includes(t.kind) ? `before the ${s.windowDays}d sourcing window (${fmtDays(daysBefore)} before creation)` : `${t.kind} does not source (sourced.kinds) and came before creation`;
  else if (at > openUntilMs) reason = 'after the opportunity closed';
  else reason = `${t.kind} does not count as influence (influenced.kinds)`;
  return { ...base, decision: 'ignored', reason };
}

/** The integer weight of each partner under a split policy, and the policy in words. */
export function splitWeights(touches: PartnerTouch[], policy: SplitPolicy, opportunityId: string): { weights: Weighted[]; how: string } {
  const partners = [...new Set(touches.map((t) => t.partner))].sort(cmp);
  let name: SplitPolicy['policy'] | SplitPolicy['fallback'] = policy.policy;
  if (name === 'fixed') {
    const set = partners.join('\u0000');
    const agreement = policy.agreements.find(
      (a) => (!a.opportunities || a.opportunities.includes(opportunityId)) && Object.keys(a.sharesBps).sort(cmp).join('\u0000') === set,
    );
    if (agreement) {
      return { weights: partners.map((p) => ({ partner: p, weight: agreement.sharesBps[p]! })), how: `fixed co-sell agreement${agreement.name ? ` "${agreement.name}"` : ''}` };
    }
    name = policy.fallback;
    const r = splitWeights(touches, { ...policy, policy: name }, opportunityId);
    return { weights: r.weights, how: `${r.how} (no co-sell agreement covers ${partners.join(', ')})` };
  }
  switch (name) {
    case 'equal':
      return { weights: partners.map((p) => ({ partner: p, weight: 1 })), how: 'equal split' };
    case 'weighted': {
      const w = (k: TouchKind) => policy.weights[k] ?? 1;
      return {
        weights: partners.map((p) => ({ partner: p, weight: Math.max(...touches.filter((t) => t.partner === p).map((t) => w(t.kind))) })),
        how: 'weighted by strongest touch kind',
      };
    }
    case 'first':
    case 'last': {
      // Touches arrive sorted by (time, id), so ties on time are broken by touch id.
      const t = name === 'first' ? touches[0]! : touches[touches.length - 1]!;
      return { weights: [{ partner: t.partner, weight: 1 }], how: `${name} touch (${t.touchId})` };
    }
  }
}

function computeCommissions(credits: AttributionEntry[], opps: Opportunity[], rules: RuleSet, warnings: string[]): AttributionEntry[] {
  // Accelerators depend on what a partner earned before, so won credit is priced in close order.
  const closedAt = new Map(opps.map((o) => [o.opportunityId, o.closedAt ?? '']));
  const won = credits.filter((c) => c.stage === 'won').sort((a, b) => ms(closedAt.get(a.opportunityId)!) - ms(closedAt.get(b.opportunityId)!) || cmp(a.opportunityId, b.opportunityId) || cmp(a.creditKind, b.creditKind) || cmp(a.partner, b.partner));
  const cumulative = new Map<string, bigint>();
  const out: AttributionEntry[] = [];
  for (const c of won) {
    const tier = rules.tiers[c.partner] ?? rules.defaultTier;
    const rule = rules.commissions[tier]?.[c.creditKind];
    if (!rule) continue;
    const key = [c.partner, c.creditKind, c.currency, periodKey(c.effectiveAt, rule.period)].join('|');
    const before = cumulative.get(key) ?? 0n;
    const credited = BigInt(c.amountMinor);
    cumulative.set(key, before + credited);
    const priced = price(rule, c, before, credited);
    if (typeof priced === 'string') {
      warnings.push(`${c.opportunityId} ${c.partner}: ${priced}`);
      continue;
    }
    let amount = priced.amount;
    let note = `tier ${tier}, ${c.creditKind} ${priced.note}`;
    const cap = rule.capMinor?.[c.currency];
    if (cap !== undefined && amount > BigInt(cap)) {
      note += `, capped at ${cap}`;
      amount = BigInt(cap);
    }
    if (amount === 0n) continue;
    out.push(entry({
      opportunityId: c.opportunityId,
      accountId: c.accountId,
      partner: c.partner,
      kind: 'commission',
      creditKind: c.creditKind,
      stage: 'won',
      shareBps: c.shareBps,
      share: c.share,
      basisMinor: c.amountMinor,
      amountMinor: toSafe(amount, 'commission'),
      currency: c.currency,
      ruleVersion: c.ruleVersion,
      effectiveAt: c.effectiveAt,
      evidence: c.evidence,
      note: `${note} = ${amount} ${c.currency}`,
    }));
  }
  return out;
}

function price(rule: CommissionRule, c: AttributionEntry, before: bigint, credited: bigint): { amount: bigint; note: string } | string {
  if (rule.type === 'flat') {
    const flat = rule.amountMinor?.[c.currency];
    if (flat === undefined) return `flat commission has no amount for ${c.currency} (no FX is applied)`;
    const [n, d] = c.share.split('/').map((x) => BigInt(x)) as [bigint, bigint];
    return { amount: divRound(BigInt(flat) * n, d), note: `flat ${flat} × share ${c.share}` };
  }
  // Marginal bands: [0, t1) at the base rate, [t1, t2) at the first accelerator, and so on.
  const bands = [{ from: 0n, rate: BigInt(rule.rateBps!) }];
  for (const a of [...rule.accelerators].filter((x) => x.aboveMinor[c.currency] !== undefined).sort((x, y) => x.aboveMinor[c.currency]! - y.aboveMinor[c.currency]!)) {
    bands.push({ from: BigInt(a.aboveMinor[c.currency]!), rate: BigInt(a.rateBps) });
  }
  let num = 0n;
  const parts: string[] = [];
  const end = before + credited;
  bands.forEach((b, i) => {
    const to = bands[i + 1]?.from ?? end;
    const lo = b.from > before ? b.from : before;
    const hi = to < end ? to : end;
    if (hi > lo) {
      num += (hi - lo) * b.rate;
      parts.push(`${hi - lo} at ${fmtBps(b.rate)}`);
    }
  });
  const amount = divRound(num, BPS);
  const acc = bands.length > 1 ? ` (partner total before this deal ${before})` : '';
  return { amount, note: `percent: ${parts.join(' + ') || `0 at ${fmtBps(bands[0]!.rate)}`}${acc}` };
}

function computeClawbacks(commissions: AttributionEntry[], opps: Opportunity[], churns: ChurnEvent[], rules: RuleSet, warnings: string[]): AttributionEntry[] {
  const cb = rules.clawback;
  if (cb.withinDays <= 0) return [];
  const oppById = new Map(opps.map((o) => [o.opportunityId, o]));
  const churnByAccount = groupBy(churns, (c) => c.accountId);
  const out: AttributionEntry[] = [];
  for (const c of commissions) {
    if (!cb.appliesTo.includes(c.creditKind)) continue;
    const opp = oppById.get(c.opportunityId)!;
    const closeMs = ms(opp.closedAt!);
    // The first churn of the account inside the window after close decides; later ones change nothing.
    const churn = (churnByAccount.get(opp.accountId) ?? []).find((x) => ms(x.churnedAt) >= closeMs && ms(x.churnedAt) - closeMs <= cb.withinDays * DAY_MS);
    if (!churn) continue;
    const commission = BigInt(c.amountMinor);
    const elapsed = Math.floor((ms(churn.churnedAt) - closeMs) / DAY_MS);
    let amount: bigint;
    let how: string;
    if (cb.mode === 'full') {
      amount = commission;
      how = 'full';
    } else if (cb.basis === 'time') {
      const left = BigInt(cb.withinDays - elapsed);
      amount = divRound(commission * left, BigInt(cb.withinDays));
      how = `pro rata ${left}/${cb.withinDays} days left`;
    } else {
      if (churn.currency !== opp.currency) {
        warnings.push(`${c.opportunityId} ${c.partner}: churn ${churn.churnId} is in ${churn.currency}, the deal in ${opp.currency}; no FX, so no lost-revenue clawback`);
        continue;
      }
      const lost = BigInt(Math.min(churn.lostRevenueMinor, opp.amountMinor));
      amount = opp.amountMinor > 0 ? divRound(commission * lost, BigInt(opp.amountMinor)) : 0n;
      how = `pro rata lost revenue ${lost}/${opp.amountMinor}`;
    }
    if (amount === 0n) continue;
    out.push(entry({
      opportunityId: c.opportunityId,
      accountId: c.accountId,
      partner: c.partner,
      kind: 'clawback',
      creditKind: c.creditKind,
      stage: 'won',
      shareBps: c.shareBps,
      share: c.share,
      basisMinor: c.amountMinor,
      amountMinor: -toSafe(amount, 'clawback'),
      currency: c.currency,
      ruleVersion: c.ruleVersion,
      effectiveAt: churn.churnedAt,
      evidence: [...c.evidence, churn.churnId],
      note: `churned ${elapsed}d after close (within ${cb.withinDays}d): ${how} of commission ${commission} = -${amount} ${c.currency}`,
    }));
  }
  return out;
}

const KIND_ORDER: Record<EntryKind, number> = { sourced_credit: 0, influenced_credit: 1, commission: 2, clawback: 3 };

/** The canonical order of entries: by opportunity, kind, credit kind, partner. */
export function entryOrder(a: AttributionEntry, b: AttributionEntry): number {
  return cmp(a.opportunityId, b.opportunityId) || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || cmp(a.creditKind, b.creditKind) || cmp(a.partner, b.partner) || cmp(a.positionId, b.positionId);
}

/** The fields of an entry in a fixed order: the basis of its id and of every serialisation. */
export const ENTRY_FIELDS = ['positionId', 'opportunityId', 'accountId', 'partner', 'kind', 'creditKind', 'stage', 'shareBps', 'share', 'basisMinor', 'amountMinor', 'currency', 'ruleVersion', 'effectiveAt', 'evidence', 'note'] as const;

function entry(e: Omit<AttributionEntry, 'positionId'>): AttributionEntry {
  const evidence = [...new Set(e.evidence)].sort(cmp);
  const body = { ...e, evidence };
  const canonical = JSON.stringify(ENTRY_FIELDS.slice(1).map((f) => body[f as keyof typeof body]));
  const positionId = crypto.createHash('sha256').update(canonical).digest('hex').slice(0, 24);
  // Built in ENTRY_FIELDS order so every JSON rendering of an entry is byte-identical.
  return Object.fromEntries(ENTRY_FIELDS.map((f) => [f, f === 'positionId' ? positionId : body[f]])) as unknown as AttributionEntry;
}

function periodKey(iso: string, period: 'year' | 'quarter' | 'all'): string {
  if (period === 'all') return 'all';
  const y = iso.slice(0, 4);
  return period === 'year' ? y : `${y}Q${Math.floor((Number(iso.slice(5, 7)) - 1) / 3) + 1}`;
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const list = m.get(k);
    if (list) list.push(x);
    else m.set(k, [x]);
  }
  return m;
}

function ms(iso: string, what = 'timestamp'): number {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new RangeError(`invalid ${what} "${iso}"`);
  return t;
}

const fmtBps = (b: bigint) => `${b / 100n}${b % 100n ? `.${String(b % 100n).padStart(2, '0')}` : ''}%`;
const fmtDays = (d: number) => `${Math.round(d * 10) / 10}d`;

