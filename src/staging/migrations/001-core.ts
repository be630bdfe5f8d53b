import type { Knex } from 'knex';

// Timestamps are ISO-8601 text on both dialects: the same SQL compares and sorts them on SQLite and Postgres.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('runs', (t) => {
    t.string('id', 40).primary();
    t.string('command', 40).notNullable();
    t.text('args').notNullable(); // JSON, secrets redacted
    t.string('started_at', 32).notNullable();
    t.string('ended_at', 32);
    t.string('status', 16).notNullable(); // running | succeeded | failed | interrupted | rejected
    t.integer('exit_code');
    t.text('counts'); // JSON
    t.text('error');
    t.integer('pid');
    t.string('host', 255);
    t.index(['started_at']);
  });
  await knex.schema.createTable('run_events', (t) => {
    t.increments('id');
    t.string('run_id', 40).notNullable().references('runs.id').onDelete('CASCADE');
    t.string('at', 32).notNullable();
    t.string('level', 8).notNullable();
    t.string('step', 120);
    t.text('message').notNullable();
    t.text('data'); // JSON
    t.index(['run_id']);
  });
  await knex.schema.createTable('sync_state', (t) => {
    t.string('connection', 120).notNullable();
    t.string('stream', 120).notNullable();
    // Hash of the query parameters the cursor was issued for: a changed filter never reuses an old cursor.
    t.string('params_hash', 64).notNullable();
    t.text('state').notNullable(); // JSON
    t.string('updated_at', 32).notNullable();
    t.string('run_id', 40);
    t.primary(['connection', 'stream', 'params_hash']);
  });
  await knex.schema.createTable('locks', (t) => {
    t.string('name', 60).primary();
    t.string('run_id', 40).notNullable();
    t.integer('pid').notNullable();
    t.string('host', 255).notNullable();
    t.string('command', 40).notNullable();
    t.string('started_at', 32).notNullable();
    t.string('heartbeat_at', 32).notNullable();
  });
  await knex.schema.createTable('rejects', (t) => {
    t.increments('id');
    t.string('run_id', 40).notNullable();
    t.string('step', 40).notNullable(); // extract | push | match | serve
    t.string('source', 255).notNullable(); // connection/stream, file, or target
    t.string('record_key', 255);
    t.string('location', 255); // file:line, or the field
    t.string('kind', 16).notNullable(); // invalid (ours) | rejected (theirs)
    t.string('code', 80);
    t.text('reason').notNullable();
    t.integer('http_status');
    t.text('record'); // JSON or the raw line, to replay
    t.string('created_at', 32).notNullable();
    t.index(['run_id']);
    t.index(['step', 'source']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const t of ['rejects', 'locks', 'sync_state', 'run_events', 'runs']) await knex.schema.dropTableIfExists(t);
}
