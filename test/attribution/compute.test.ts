import { describe, expect, it } from 'vitest';
import { RuleSet } from '../../src/attribution/config.js';
import { computeAttribution } from '../../src/attribution/compute.js';
import { largestRemainder } from '../../src/attribution/money-split.js';
import type { AttributionInputs, Opportunity, PartnerTouch } from '../../src/attribution/types.js';

const AS_OF = '2024-12-31T23:59:59.999Z';
const opp = (o: Partial<Opportunity> & { opportunityId: string }): Opportunity => ({
  accountId: `acct-${o.opportunityId}`,
  amountMinor: 10_000,
  currency: 'USD',
  createdAt: '2024-03-01T00:00:00.000Z',
  closedAt: null,
  isWon: false,
  ...o,
});
const touch = (touchId: string, partner: string, kind: PartnerTouch['kind'], touchedAt: string, opportunityId = 'O1'): PartnerTouch => ({ touchId, partner, kind, touchedAt, opportunityId, accountId: null });
const run = (inputs: Partial<AttributionInputs>, rules: unknown = {}, asOf = AS_OF) =>
  computeAttribution({ opportunities: [], touches: [], churnEvents: [], ...inputs }, RuleSet.parse(rules), { asOf, ruleVersion: 'v1' });
const amounts = (r: ReturnType<typeof run>, kind: string) => Object.fromEntries(r.entries.filter((e) => e.kind === kind).map((e) => [e.partner, e.amountMinor]));
const shares = (r: ReturnType<typeof run>, kind: string) => Object.fromEntries(r.entries.filter((e) => e.kind === kind).map((e) => [e.partner, e.shareBps]));

describe('largestRemainder', () => {
  it.each([
    // total, weights, expected (hand-computed)
    [100n, { a: 1, b: 1, c: 1 }, { a: 34n, b: 33n, c: 33n }],
    [1_000_001n, { c: 1, b: 1, a: 1 }, { a: 333_334n, b: 333_334n, c: 333_333n }],
    [999n, { a: 6000, b: 4000 }, { a: 599n, b: 400n }], // 599.4 / 399.6: the .6 gets the cent
    [10_000n, { p1: 4, p2: 2 }, { p1: 6667n, p2: 3333n }],
    [1n, { z: 1, y: 1 }, { y: 1n, z: 0n }], // tie → lower partner id
  ])('splits %s by %j exactly', (total, weights, expected) => {
    const got = largestRemainder(total, Object.entries(weights).map(([partner, weight]) => ({ partner, weight })));
    expect(Object.fromEntries(got)).toEqual(expected);
    expect([...got.values()].reduce((a, b) => a + b, 0n)).toBe(total);
  });
});

describe('credit splits', () => {
  const created = '2024-03-01T00:00:00.000Z';
  const three = [touch('t-c', 'c', 'intro', '2024-02-10T00:00:00Z'), touch('t-a', 'a', 'registered_deal', '2024-02-20T00:00:00Z'), touch('t-b', 'b', 'intro', '2024-02-01T00:00:00Z')];
  it.each([
    ['equal', { policy: 'equal' }, 1_000_001, three, { a: 333_334, b: 333_334, c: 333_333 }, { a: 3334, b: 3333, c: 3333 }],
    ['weighted', { policy: 'weighted', weights: { registered_deal: 4, intro: 2 } }, 10_000, three.slice(0, 2), { a: 6667, c: 3333 }, { a: 6667, c: 3333 }],
    ['first', { policy: 'first' }, 10_000, three, { b: 10_000 }, { b: 10_000 }],
    ['last', { policy: 'last' }, 10_000, three, { a: 10_000 }, { a: 10_000 }],
    ['fixed', { policy: 'fixed', agreements: [{ sharesBps: { a: 6000, c: 4000 } }] }, 999, three.slice(0, 2), { a: 599, c: 400 }, { a: 6000, c: 4000 }],
    ['fixed, no agreement fits → fallback equal', { policy: 'fixed', agreements: [{ sharesBps: { a: 6000, c: 4000 } }] }, 999, three, { a: 333, b: 333, c: 333 }, { a: 3334, b: 3333, c: 3333 }],
  ])('%s', (_name, split, amountMinor, touches, expectedAmounts, expectedBps) => {
    const r = run({ opportunities: [opp({ opportunityId: 'O1', amountMinor, createdAt: created })], touches }, { sourced: { split } });
    expect(amounts(r, 'sourced_credit')).toEqual(expectedAmounts);
    expect(shares(r, 'sourced_credit')).toEqual(expectedBps);
    const credits = r.entries.filter((e) => e.kind === 'sourced_credit');
    expect(credits.reduce((a, e) => a + e.amountMinor, 0)).toBe(amountMinor);
    expect(credits.reduce((a, e) => a + e.shareBps, 0)).toBe(10_000);
  });

  it('gives the same entries whatever order the inputs come in', () => {
    const o = opp({ opportunityId: 'O1', amountMinor: 100 });
    const a = run({ opportunities: [o], touches: three });
    const b = run({ opportunities: [o], touches: [...three].reverse() });
    expect(JSON.stringify(b.entries)).toBe(JSON.stringify(a.entries));
  });

  it('classifies touches: sourcing window, influence while open, ignored otherwise', () => {
    const touches = [
      touch('old', 'a', 'intro', '2023-11-01T00:00:00Z'), // 121 days before creation: outside 90d
      touch('reg', 'b', 'registered_deal', '2024-01-15T00:00:00Z'),
      touch('cosell', 'c', 'co_sell', '2024-04-01T00:00:00Z'),
      touch('late', 'd', 'influence_signal', '2024-07-01T00:00:00Z'), // after close
    ];
    const r = run({ opportunities: [opp({ opportunityId: 'O1', closedAt: '2024-06-01T00:00:00Z', isWon: true })], touches });
    expect(r.explanations[0]!.touches.map((t) => [t.touchId, t.decision])).toEqual([['old', 'ignored'], ['reg', 'sourced'], ['cosell', 'influenced'], ['late', 'ignored']]);
    expect(amounts(r, 'sourced_credit')).toEqual({ b: 10_000 });
    expect(amounts(r, 'influenced_credit')).toEqual({ c: 10_000 });
    expect(r.entries.every((e) => e.stage === 'won')).toBe(true);
  });

  it('applies account-level touches to the account’s opportunities and keeps each opportunity’s currency', () => {
    const r = run({
      opportunities: [opp({ opportunityId: 'E1', accountId: 'acme', amountMinor: 5001, currency: 'EUR' }), opp({ opportunityId: 'U1', accountId: 'acme', amountMinor: 7000, currency: 'USD' })],
      touches: [{ touchId: 'acct-intro', partner: 'p', kind: 'intro', touchedAt: '2024-02-01T00:00:00Z', opportunityId: null, accountId: 'acme' }],
    });
    expect(r.entries.map((e) => [e.opportunityId, e.amountMinor, e.currency])).toEqual([['E1', 5001, 'EUR'], ['U1', 7000, 'USD']]);
  });

  it('gives lost opportunities no credit', () => {
    const r = run({ opportunities: [opp({ opportunityId: 'O1', closedAt: '2024-05-01T00:00:00Z', isWon: false })], touches: [touch('t', 'a', 'intro', '2024-02-01T00:00:00Z')] });
    expect(r.entries).toEqual([]);
    expect(r.explanations[0]!.stage).toBe('lost');
  });
});

describe('commissions', () => {
  const won = (id: string, amountMinor: number, closedAt: string, currency = 'USD') => opp({ opportunityId: id, accountId: `acct-${id}`, amountMinor, closedAt, isWon: true, currency });
  const srcTouch = (id: string, partner = 'acme') => touch(`t-${id}-${partner}`, partner, 'registered_deal', '2024-02-01T00:00:00Z', id);
  const tiers = { acme: 'gold', globex: 'silver' };

  it.each([
    ['percent 10%', { type: 'percent', rateBps: 1000 }, [won('O1', 6667, '2024-04-01T00:00:00Z')], { O1: 667 }], // 666.7 → 667
    ['percent, capped', { type: 'percent', rateBps: 1000, capMinor: { USD: 500 } }, [won('O1', 6667, '2024-04-01T00:00:00Z')], { O1: 500 }],
    ['cap in another currency does not apply', { type: 'percent', rateBps: 1000, capMinor: { USD: 500 } }, [won('O1', 6667, '2024-04-01T00:00:00Z', 'EUR')], { O1: 667 }],
    [
      'accelerator above 10000 cumulative: marginal',
      { type: 'percent', rateBps: 1000, accelerators: [{ aboveMinor: { USD: 10_000 }, rateBps: 2000 }] },
      [won('O1', 8000, '2024-04-01T00:00:00Z'), won('O2', 5000, '2024-05-01T00:00:00Z')],
      { O1: 800, O2: 800 }, // O2: 2000 at 10% + 3000 at 20%
    ],
    [
      'accelerator cumulative resets each year',
      { type: 'percent', rateBps: 1000, accelerators: [{ aboveMinor: { USD: 10_000 }, rateBps: 2000 }] },
      [won('O1', 8000, '2023-12-01T00:00:00Z'), won('O2', 5000, '2024-05-01T00:00:00Z')],
      { O1: 800, O2: 500 },
    ],
    ['flat per deal', { type: 'flat', amountMinor: { USD: 50_000 } }, [won('O1', 1, '2024-04-01T00:00:00Z')], { O1: 50_000 }],
  ])('%s', (_name, rule, opportunities, expected) => {
    const rules = { tiers, commissions: { gold: { sourced: rule } } };
    const r = run({ opportunities: opportunities.map((o) => ({ ...o, createdAt: o.closedAt! < '2024' ? '2023-11-01T00:00:00Z' : o.createdAt })), touches: opportunities.map((o) => ({ ...srcTouch(o.opportunityId), touchedAt: o.closedAt! < '2024' ? '2023-10-01T00:00:00Z' : '2024-02-01T00:00:00Z' })) }, rules);
    expect(Object.fromEntries(r.entries.filter((e) => e.kind === 'commission').map((e) => [e.opportunityId, e.amountMinor]))).toEqual(expected);
    for (const e of r.entries) expect(e.currency).toBe(opportunities.find((o) => o.opportunityId === e.opportunityId)!.currency);
  });

  it('pays by tier and kind, flat times share, and warns when a flat amount lacks the currency', () => {
    const rules = {
      tiers,
      defaultTier: 'none',
      sourced: { split: { policy: 'equal' } },
      commissions: { gold: { sourced: { type: 'flat', amountMinor: { USD: 50_000 } } }, silver: { sourced: { type: 'percent', rateBps: 500 } } },
    };
    const r = run({
      opportunities: [won('O1', 100_000, '2024-04-01T00:00:00Z'), won('E1', 100_000, '2024-04-01T00:00:00Z', 'EUR')],
      touches: [srcTouch('O1'), srcTouch('O1', 'globex'), srcTouch('O1', 'initech'), srcTouch('E1')],
    }, rules);
    // O1 split 3 ways: 33334 / 33333 / 33333. acme (gold): 50000 × 1/3 = 16666.67 → 16667; globex (silver): 5% of 33333 = 1666.65 → 1667; initech: default tier "none" has no rule.
    expect(r.entries.filter((e) => e.kind === 'commission').map((e) => [e.opportunityId, e.partner, e.amountMinor, e.currency])).toEqual([['O1', 'acme', 16_667, 'USD'], ['O1', 'globex', 1667, 'USD']]);
    expect(r.warnings).toEqual(['E1 acme: flat commission has no amount for EUR (no FX is applied)']);
  });

  it('pays nothing on an opportunity still open at the as-of date', () => {
    const r = run({ opportunities: [won('O1', 10_000, '2024-04-01T00:00:00Z')], touches: [srcTouch('O1')] }, { tiers, commissions: { gold: { sourced: { type: 'percent', rateBps: 1000 } } } }, '2024-03-15T00:00:00.000Z');
    expect(r.entries.map((e) => [e.kind, e.stage])).toEqual([['sourced_credit', 'open']]);
  });
});

describe('clawbacks', () => {
  const closedAt = '2024-04-01T00:00:00.000Z';
  const base = {
    opportunities: [opp({ opportunityId: 'O1', accountId: 'acme-corp', amountMinor: 10_000, closedAt, isWon: true })],
    touches: [touch('reg-1', 'acme', 'registered_deal', '2024-02-01T00:00:00Z')],
  };
  const churn = (churnedAt: string, lostRevenueMinor = 2500) => [{ churnId: 'churn-1', accountId: 'acme-corp', churnedAt, lostRevenueMinor, currency: 'USD' }];
  const rules = (clawback: unknown) => ({ commissions: { default: { sourced: { type: 'percent', rateBps: 1000 } } }, clawback });
  it.each([
    ['full, 30 days after close', { withinDays: 90, mode: 'full' }, churn('2024-05-01T00:00:00Z'), -1000],
    ['pro rata by time: 60 of 90 days left', { withinDays: 90, mode: 'pro_rata' }, churn('2024-05-01T00:00:00Z'), -667], // 1000 × 60/90 = 666.67
    ['pro rata by lost revenue 2500/10000', { withinDays: 90, mode: 'pro_rata', basis: 'lost_revenue' }, churn('2024-05-01T00:00:00Z'), -250],
    ['churn after the window', { withinDays: 20, mode: 'full' }, churn('2024-05-01T00:00:00Z'), undefined],
    ['disabled', { withinDays: 0 }, churn('2024-05-01T00:00:00Z'), undefined],
  ])('%s', (_name, clawback, churnEvents, expected) => {
    const r = run({ ...base, churnEvents }, rules(clawback));
    const cb = r.entries.filter((e) => e.kind === 'clawback');
    expect(cb[0]?.amountMinor).toBe(expected);
    if (expected !== undefined) {
      expect(cb[0]!.evidence).toEqual(['churn-1', 'reg-1']);
      expect(cb[0]!.effectiveAt).toBe('2024-05-01T00:00:00Z');
    }
  });

  it('ignores a churn that happens after the as-of date', () => {
    const r = run({ ...base, churnEvents: churn('2024-05-01T00:00:00Z') }, rules({ withinDays: 90 }), '2024-04-15T00:00:00.000Z');
    expect(r.entries.filter((e) => e.kind === 'clawback')).toEqual([]);
    expect(r.entries.filter((e) => e.kind === 'commission').map((e) => e.amountMinor)).toEqual([1000]);
  });
});
