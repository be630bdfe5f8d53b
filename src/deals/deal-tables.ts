import type { Knex } from 'knex';
import { InputError } from '../errors.js';

export const DEALS_TABLE = 'deals';

/** Columns the deal API needs in `deals` (a table someone else created must have them). */
const REQUIRED = ['deal_id', 'partner', 'status', 'match_status', 'account_id', 'deal_name', 'company_name', 'stage', 'registered_at', 'updated_at', 'prospect_key'];

/**
 * Creates `deals` on first use (not in a migration: attribution reads a missing `deals` table as "no
 * registrations", and projects that model their own `deals` table must not collide with ours). The
 * column names are the ones attribution reads: deal_id, partner, status, registered_at, accepted_at,
 * account_id, opportunity_id.
 *
 * @example
 *   await ensureDealsTable(staging.db);   // idempotent; cheap after the first call
 */
export async function ensureDealsTable(db: Knex): Promise<void> {
  if (await db.schema.hasTable(DEALS_TABLE)) {
    const have = new Set(Object.keys(await db(DEALS_TABLE).columnInfo()));
    const lacking = REQUIRED.filter((c) => !have.has(c));
    if (lacking.length)
      throw new InputError(`staging table deals exists but is not the deal API's (it lacks ${lacking.join(', ')})`, {
        hint: 'rename or drop that table: the partner deal API keeps registered deals in staging table deals',
      });
    return;
  }
  try {
    await db.schema.createTable(DEALS_TABLE, (t) => {
      t.string('deal_id', 40).primary();
      t.string('partner', 64).notNullable();
      t.string('status', 16).notNullable(); // submitted | conflict | accepted | rejected
      t.string('match_status', 16).notNullable(); // matched | review | new
      t.string('account_id', 255);
      t.text('match_candidates'); // JSON [{accountId, rule, score, reason}]
      t.string('match_rule', 40);
      t.float('match_confidence');
      t.string('prospect_key', 255); // registrable domain, else normalised name: conflicts between new prospects
      t.string('conflict_reason', 40); // partner_registered | open_opportunity
      t.text('conflict_detail');
      t.string('deal_name', 255).notNullable();
      t.string('company_name', 255).notNullable();
      t.string('company_website', 255);
      t.string('company_country', 2);
      t.string('contact_name', 255);
      t.string('contact_email', 320);
      t.string('stage', 32).notNullable();
      t.bigInteger('amount_minor');
      t.string('currency', 3);
      t.string('expected_close_date', 10).notNullable();
      t.string('partner_reference', 255);
      t.text('notes');
      t.text('extra'); // JSON: unknown fields kept per config
      t.string('registered_at', 32).notNullable();
      t.string('updated_at', 32).notNullable();
      t.string('accepted_at', 32);
      t.string('rejected_at', 32);
      t.string('decided_by', 255);
      t.text('decision_note');
      t.string('opportunity_id', 255);
      t.index(['partner', 'registered_at']);
      t.index(['account_id']);
      t.index(['prospect_key']);
      t.index(['status']);
    });
  } catch (err) {
    // Another process created it between the check and here.
    if (!(await db.schema.hasTable(DEALS_TABLE))) throw err;
  }
}
