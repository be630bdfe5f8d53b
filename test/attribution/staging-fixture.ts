import type { Knex } from 'knex';

/**
 * Creates the attribution input tables the way the model step and the deal API will, and fills them.
 * Amounts are integer minor units; timestamps ISO text (as everywhere in staging).
 */
export async function createInputTables(db: Knex, opts: { deals?: boolean; churn?: boolean } = {}): Promise<void> {
  await db.schema.createTable('opportunities', (t) => {
    t.string('opportunity_id').primary();
    t.string('account_id').notNullable();
    t.bigInteger('amount_minor').notNullable();
    t.string('currency', 3).notNullable();
    t.string('created_at').notNullable();
    t.string('closed_at');
    t.boolean('is_won').notNullable().defaultTo(false);
  });
  await db.schema.createTable('partner_touches', (t) => {
    t.string('touch_id').primary();
    t.string('partner').notNullable();
    t.string('account_id');
    t.string('opportunity_id');
    t.string('kind').notNullable();
    t.string('touched_at').notNullable();
  });
  if (opts.deals !== false) {
    await db.schema.createTable('deals', (t) => {
      t.string('deal_id').primary();
      t.string('partner').notNullable();
      t.string('account_id');
      t.string('opportunity_id');
      t.string('status').notNullable();
      t.string('registered_at').notNullable();
      t.string('accepted_at');
    });
  }
  if (opts.churn !== false) {
    await db.schema.createTable('churn_events', (t) => {
      t.string('churn_id').primary();
      t.string('account_id').notNullable();
      t.string('churned_at').notNullable();
      t.bigInteger('lost_revenue_minor').notNullable();
      t.string('currency', 3).notNullable();
    });
  }
}

/** The story the ledger tests tell; every amount below is worked out by hand in the tests. */
export async function seedStory(db: Knex): Promise<void> {
  await db('opportunities').insert([
    // O1: won in April, sourced by acme (intro) and globex (accepted registration): equal split of 100001 cents.
    { opportunity_id: 'O1', account_id: 'A1', amount_minor: 100_001, currency: 'USD', created_at: '2024-03-01', closed_at: '2024-04-15T00:00:00Z', is_won: true },
    // O2: a EUR deal still open on 2024-05-31, won on 2024-07-01 (after the first as-of).
    { opportunity_id: 'O2', account_id: 'A2', amount_minor: 50_000, currency: 'EUR', created_at: '2024-04-01', closed_at: '2024-07-01T00:00:00Z', is_won: true },
  ]);
  await db('partner_touches').insert([
    { touch_id: 'T1', partner: 'acme', account_id: 'A1', opportunity_id: null, kind: 'intro', touched_at: '2024-02-10T00:00:00Z' },
    { touch_id: 'T2', partner: 'acme', account_id: null, opportunity_id: 'O2', kind: 'intro', touched_at: '2024-03-20T00:00:00Z' },
    { touch_id: 'T3', partner: 'initech', account_id: null, opportunity_id: 'O1', kind: 'co_sell', touched_at: '2024-03-15T00:00:00Z' },
    { touch_id: 'T9', partner: 'noise', account_id: null, opportunity_id: 'O1', kind: 'bogus', touched_at: '2024-03-15T00:00:00Z' },
  ]);
  await db('deals').insert([
    { deal_id: 'D1', partner: 'globex', account_id: 'A1', opportunity_id: null, status: 'accepted', registered_at: '2024-02-20T00:00:00Z', accepted_at: '2024-02-22T00:00:00Z' },
    { deal_id: 'D2', partner: 'hooli', account_id: 'A1', opportunity_id: null, status: 'rejected', registered_at: '2024-02-21T00:00:00Z', accepted_at: null },
  ]);
}

export const RULES = {
  v1: {
    sourced: { kinds: ['registered_deal', 'intro'], windowDays: 90, split: { policy: 'equal' } },
    influenced: { kinds: ['co_sell'], split: { policy: 'equal' } },
    tiers: { acme: 'gold', globex: 'silver' },
    commissions: {
      gold: { sourced: { type: 'percent', rateBps: 1000 } },
      silver: { sourced: { type: 'percent', rateBps: 500, capMinor: { USD: 2000 } } },
    },
    clawback: { withinDays: 90, mode: 'full' },
  },
  v2: {
    sourced: { kinds: ['registered_deal', 'intro'], windowDays: 90, split: { policy: 'fixed', agreements: [{ name: 'acme-globex 2024', sharesBps: { acme: 3000, globex: 7000 } }] } },
    influenced: { kinds: ['co_sell'], split: { policy: 'equal' } },
    tiers: { acme: 'gold', globex: 'silver' },
    commissions: {
      gold: { sourced: { type: 'percent', rateBps: 1000 } },
      silver: { sourced: { type: 'percent', rateBps: 500, capMinor: { USD: 2000 } } },
    },
    clawback: { withinDays: 90, mode: 'pro_rata' },
  },
};
