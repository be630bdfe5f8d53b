import type { Knex } from 'knex';

/**
 * The sync ledger and push checkpoints.
 *
 * `sync_ledger` holds one row per (target, key): what partnersync last delivered successfully
 * (`sent_hash` over the mapped fields, `sent_fields` for field-level before/after), where it lives
 * (`destination_id`), how the last attempt ended (`status`: ok | rejected | pending), and whether
 * partnersync created the record (`owned`) — mirror mode only ever deletes records it owns.
 * `pending_op` records the intent before a create is sent, so a create whose confirmation was lost
 * (crash, kill -9) is known to be in doubt and is resent idempotently instead of duplicated.
 *
 * `push_checkpoints` is written in the same transaction as every batch's ledger rows: it shows how
 * far a push got (`partnersync status`) and which plan it was executing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sync_ledger', (t) => {
    t.string('target', 120).notNullable();
    t.string('key', 500).notNullable();
    t.string('object', 255).notNullable();
    t.string('destination_id', 255);
    t.string('sent_hash', 64); // hash of the mapped fields last delivered successfully
    t.text('sent_fields'); // JSON: those fields, for plans' before/after and mirror's clear
    t.string('status', 16).notNullable(); // ok | rejected | pending
    t.string('last_op', 16);
    t.integer('attempts').notNullable().defaultTo(0); // failed attempts since the last success
    t.string('last_error_code', 80);
    t.text('last_error');
    t.integer('http_status');
    t.boolean('owned').notNullable().defaultTo(false); // partnersync created it
    t.string('pending_op', 16); // intent recorded before sending a create
    t.string('run_id', 40);
    t.string('updated_at', 32).notNullable();
    t.primary(['target', 'key']);
    t.index(['target', 'status']);
  });
  await knex.schema.createTable('push_checkpoints', (t) => {
    t.string('target', 120).notNullable();
    t.string('run_id', 40).notNullable();
    t.string('plan_id', 64).notNullable();
    t.integer('planned').notNullable();
    t.integer('confirmed').notNullable().defaultTo(0);
    t.integer('rejected').notNullable().defaultTo(0);
    t.integer('batches').notNullable().defaultTo(0);
    t.string('status', 16).notNullable(); // running | done | failed
    t.string('updated_at', 32).notNullable();
    t.primary(['target', 'run_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('push_checkpoints');
  await knex.schema.dropTableIfExists('sync_ledger');
}
