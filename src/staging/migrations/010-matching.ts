import type { Knex } from 'knex';

/**
 * The matcher's output (`matches`, one row per signal, replaced by every `partnersync match` run) and the
 * review queue with the decisions people made (`match_review`; a decided row wins over the engine on
 * every later run).
 *
 * Before this migration the matcher created both tables on first use, so a staging database may already
 * have them: each is created only when missing (the DDL is the same as it was).
 */
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('matches'))) {
    await knex.schema.createTable('matches', (t) => {
      t.string('signal_id', 255).primary();
      t.string('status', 16).notNullable(); // matched | review | unmatched
      t.string('account_id', 255);
      t.string('rule', 40);
      t.float('confidence').notNullable();
      t.text('candidate_account_ids').notNullable(); // `;`-separated
      t.text('candidates').notNullable(); // JSON: [{accountId, rule, score, reason}]
      t.text('explanation').notNullable();
      t.string('decided_by', 16).notNullable(); // engine | review
      t.string('run_id', 40);
      t.string('matched_at', 32).notNullable();
      t.index(['account_id']);
      t.index(['status']);
    });
  }
  if (!(await knex.schema.hasTable('match_review'))) {
    await knex.schema.createTable('match_review', (t) => {
      t.string('signal_id', 255).primary();
      t.string('status', 16).notNullable(); // open | accepted | rejected
      t.string('account_id', 255); // the accepted account
      t.text('candidates').notNullable(); // JSON, as the engine last proposed them
      t.text('explanation').notNullable();
      t.string('created_at', 32).notNullable();
      t.string('decided_at', 32);
      t.index(['status']);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('match_review');
  await knex.schema.dropTableIfExists('matches');
}
