import type { Knex } from 'knex';

/**
 * The webhook inbox of `partnersync serve`.
 *
 * One row per (source, event_id): the unique key is what makes a re-delivered event a no-op
 * (`INSERT … ON CONFLICT DO NOTHING`), so deduplication is safe under concurrent deliveries and
 * across restarts. The raw body is kept byte-exact (as text: every scheme signs UTF-8 JSON) so an
 * event can be replayed and re-verified later.
 *
 * Status: received → processing → processed, or → failed (retried at `next_attempt_at`) → dead after
 * the configured number of attempts. A `processing` row whose `lease_until` has passed belonged to
 * a worker that died (kill -9) and is claimed again.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_inbox', (t) => {
    t.increments('id');
    t.string('source', 120).notNullable();
    t.string('event_id', 255).notNullable();
    t.string('event_type', 120);
    t.text('body').notNullable();
    t.text('headers'); // JSON: the subset needed to re-verify and debug (never Authorization)
    t.string('received_at', 32).notNullable();
    t.string('status', 16).notNullable(); // received | processing | processed | failed | dead
    t.integer('attempts').notNullable().defaultTo(0);
    t.string('next_attempt_at', 32).notNullable();
    t.string('lease_until', 32);
    t.string('claim_token', 40);
    t.text('last_error');
    t.string('processed_at', 32);
    t.text('result'); // JSON: what the actions did (destination ids), for `webhooks list`
    t.unique(['source', 'event_id']);
    // Only the claim query's index: every extra index is more pages written per inbox commit.
    t.index(['status', 'next_attempt_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('webhook_inbox');
}
