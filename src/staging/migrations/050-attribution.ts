import type { Knex } from 'knex';

/**
 * The attribution ledger: append-only. A recomputation never updates a row; it appends a `reversal`
 * (negated amount, `reverses_entry_id`) for every line that no longer holds and a new line for every
 * new number, so the ledger is also the history of what was recorded and paid, and when.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('attribution_ledger', (t) => {
    t.increments('seq'); // posting order
    t.string('entry_id', 40).notNullable().unique();
    // Content hash of the attribution line (same facts + rules → same id); reversals carry the reversed line's.
    t.string('position_id', 40).notNullable();
    t.string('as_of', 32).notNullable(); // the as-of instant of the computation that posted it
    t.string('computed_at', 32).notNullable(); // wall clock; not part of any reproducible output
    t.string('run_id', 40);
    t.string('partner', 255).notNullable();
    t.string('opportunity_id', 255).notNullable();
    t.string('account_id', 255).notNullable();
    t.string('kind', 24).notNullable(); // sourced_credit | influenced_credit | commission | clawback | reversal
    t.string('reversed_kind', 24); // for reversals: the kind they cancel, so sums per kind stay simple
    t.string('credit_kind', 16).notNullable(); // sourced | influenced
    t.string('stage', 8).notNullable(); // open | won
    t.integer('share_bps').notNullable();
    t.string('share', 64).notNullable(); // exact fraction, e.g. 1/3
    t.bigInteger('basis_minor').notNullable();
    t.bigInteger('amount_minor').notNullable();
    t.string('currency', 3).notNullable();
    t.string('rule_version', 64).notNullable();
    t.string('effective_at', 32).notNullable();
    t.text('evidence').notNullable(); // JSON array of evidence ids
    t.text('note').notNullable();
    t.string('reverses_entry_id', 40);
    t.index(['opportunity_id']);
    t.index(['partner', 'effective_at']);
    t.index(['as_of']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('attribution_ledger');
}
