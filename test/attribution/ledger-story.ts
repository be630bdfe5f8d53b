import { expect } from 'vitest';
import { AttributionConfig } from '../../src/attribution/config.js';
import { attributeFromStaging, entriesToCsv, openEntries, postResult, readLedger, resolveRules, asEntry, diffEntries } from '../../src/attribution/index.js';
import type { Staging } from '../../src/staging/db.js';
import { createInputTables, RULES, seedStory } from './staging-fixture.js';

export const T1 = '2024-05-31T23:59:59.999Z';
export const T2 = '2024-07-31T23:59:59.999Z';

const row = (e: { opportunityId: string; kind: string; partner: string; amountMinor: number; currency: string }) => `${e.opportunityId} ${e.kind} ${e.partner} ${e.amountMinor} ${e.currency}`;

/**
 * The ledger acceptance story, run on SQLite and on Postgres: post with v1 as of May, churn and a
 * close arrive, re-post with v2 as of July (reversals + new lines), then replay May with v1 and get
 * the May ledger back byte for byte. Every number is worked out by hand in the comments.
 */
export async function ledgerStory(staging: Staging): Promise<void> {
  const db = staging.db;
  await createInputTables(db);
  await seedStory(db);
  const config = AttributionConfig.parse({ activeRules: 'v2', rules: RULES });
  const v1 = resolveRules(config, 'v1');
  const v2 = resolveRules(config);
  expect(v2.ruleVersion).toBe('v2');

  // --- May, rules v1 ---------------------------------------------------------------------------
  const may = await attributeFromStaging(db, { ...v1, asOf: T1 });
  expect(may.warnings).toContain('partner_touches row T9: unknown kind "bogus" (one of registered_deal, intro, co_sell, influence_signal); skipped');
  expect(may.result.entries.map(row)).toEqual([
    'O1 sourced_credit acme 50001 USD', // 100001 / 2 = 50000.5: the odd cent goes to the lower partner id
    'O1 sourced_credit globex 50000 USD', // accepted registration D1; rejected D2 (hooli) does not count
    'O1 influenced_credit initech 100001 USD',
    'O1 commission acme 5000 USD', // gold 10% of 50001 = 5000.1
    'O1 commission globex 2000 USD', // silver 5% of 50000 = 2500, capped at 2000
    'O2 sourced_credit acme 50000 EUR', // still open on May 31: pipeline, no commission
  ]);
  const posted1 = await postResult(db, may.result, { computedAt: '2024-06-01T00:00:00.000Z' });
  expect([posted1.added, posted1.reversed]).toEqual([6, 0]);

  // Re-running with the same facts changes nothing.
  const again = await postResult(db, (await attributeFromStaging(db, { ...v1, asOf: T1 })).result);
  expect([again.added, again.reversed, again.unchanged]).toEqual([0, 0, 6]);

  // --- June/July facts arrive, then rules v2 as of July ----------------------------------------
  await db('churn_events').insert({ churn_id: 'C1', account_id: 'A1', churned_at: '2024-06-14T00:00:00Z', lost_revenue_minor: 100_001, currency: 'USD' });
  await db('partner_touches').insert({ touch_id: 'T4', partner: 'acme', account_id: null, opportunity_id: 'O2', kind: 'co_sell', touched_at: '2024-06-10T00:00:00Z' });
  const july = await attributeFromStaging(db, { ...v2, asOf: T2 });
  expect(july.result.entries.map(row)).toEqual([
    'O1 sourced_credit acme 30000 USD', // agreement 30%: 30000.3
    'O1 sourced_credit globex 70001 USD', // 70%: 70000.7, gets the leftover cent
    'O1 influenced_credit initech 100001 USD',
    'O1 commission acme 3000 USD',
    'O1 commission globex 2000 USD', // 5% of 70001 = 3500.05, capped
    'O1 clawback acme -1000 USD', // churned 60 days after close: 30/90 of 3000 is unearned
    'O1 clawback globex -667 USD', // 30/90 of 2000 = 666.67
    'O2 sourced_credit acme 50000 EUR', // won July 1: revenue, currency kept
    'O2 influenced_credit acme 50000 EUR', // co-sell while open (T4)
    'O2 commission acme 5000 EUR',
  ]);
  const posted2 = await postResult(db, july.result, { computedAt: '2024-08-01T00:00:00.000Z' });
  // Every May line changed rule version (and most changed number): reversed, never edited.
  expect([posted2.reversed, posted2.added]).toEqual([6, 10]);

  const ledger = await readLedger(db);
  expect(ledger).toHaveLength(6 + 6 + 10);
  const reversals = ledger.filter((e) => e.kind === 'reversal');
  expect(reversals.map((r) => [r.reversesEntryId, r.amountMinor])).toEqual(ledger.slice(0, 6).map((e) => [e.entryId, -e.amountMinor]));
  expect(reversals.every((r) => r.asOf === T2)).toBe(true);
  // The first six rows are untouched (append-only), byte for byte what was posted in May.
  expect(ledger.slice(0, 6).map((e) => [e.asOf, e.ruleVersion, e.computedAt])).toEqual(Array(6).fill([T1, 'v1', '2024-06-01T00:00:00.000Z']));
  // Net sums over the whole ledger (reversals included) equal the July result.
  const net = (k: string) => ledger.filter((e) => e.kind === k || e.reversedKind === k).reduce((a, e) => a + e.amountMinor, 0);
  expect(net('commission')).toBe(3000 + 2000 + 5000);
  expect(net('clawback')).toBe(-1667);

  // --- Replays ---------------------------------------------------------------------------------
  const replayMay = await attributeFromStaging(db, { ...v1, asOf: T1 });
  expect(entriesToCsv(replayMay.result.entries)).toBe(entriesToCsv(openEntries(ledger, T1).map(asEntry)));
  expect(JSON.stringify(replayMay.result.entries)).toBe(JSON.stringify(openEntries(ledger, T1).map(asEntry)));
  const replayJuly = await attributeFromStaging(db, { ...v2, asOf: T2 });
  expect(entriesToCsv(replayJuly.result.entries)).toBe(entriesToCsv(openEntries(ledger).map(asEntry)));

  // What v1 would say today, against what was recorded: the dispute view.
  const v1Now = await attributeFromStaging(db, { ...v1, asOf: T2 });
  const diff = diffEntries(openEntries(ledger).map(asEntry), v1Now.result.entries);
  expect(diff.find((d) => d.opportunityId === 'O1' && d.kind === 'sourced_credit' && d.partner === 'acme')).toMatchObject({ change: 'changed', recordedMinor: 30_000, computedMinor: 50_001, deltaMinor: 20_001 });
  expect(diff.find((d) => d.kind === 'clawback' && d.partner === 'acme')).toMatchObject({ change: 'changed', recordedMinor: -1000, computedMinor: -5000 }); // v1 claws back in full

  // History cannot be rewritten.
  await expect(postResult(db, may.result)).rejects.toThrow(/already has entries as of 2024-07-31/);
}
