import type { Knex } from 'knex';

/**
 * The partner deal API (`src/deals`).
 *
 * - `api_partners` / `api_credentials`: who may call. Secrets are never stored: an API key or an
 *   OAuth client secret is kept as the SHA-256 of the high-entropy value (a slow hash buys nothing
 *   for 256 random bits), looked up by its public id prefix. Revocation and expiry are columns, so
 *   `partners list` can show them and a revoked key stays on record for the audit log.
 * - `deals` itself is NOT created here but by `ensureDealsTable` (src/deals/deal-tables.ts) when the
 *   deal API or a `deals` command first opens staging: attribution treats a missing `deals` table as
 *   "no registrations", and projects (and tests) that bring their own `deals` table keep working.
 * - `deals_accepted`: the push model of accepted deals (CRM-ready values), written in the same
 *   transaction as the acceptance; `targets:` entries push it with the ordinary engine and ledger.
 * - `deal_idempotency`: unique (partner, idem_key) is what makes concurrent retries of one
 *   submission create one deal: the first INSERT wins, the others wait for its stored response.
 * - `deal_api_audit`: every call, who/what/result, never a body or a credential.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('api_partners', (t) => {
    t.string('partner_id', 64).primary();
    t.string('name', 255).notNullable();
    t.string('status', 16).notNullable(); // active | disabled
    t.string('created_at', 32).notNullable();
  });
  await knex.schema.createTable('api_credentials', (t) => {
    t.string('credential_id', 40).primary(); // public: the lookup prefix of a key / the OAuth client_id
    t.string('partner_id', 64).notNullable();
    t.string('kind', 16).notNullable(); // api_key | oauth_client
    t.string('secret_hash', 64).notNullable(); // sha256 hex of the whole secret
    t.string('scopes', 255).notNullable(); // space-separated
    t.string('created_at', 32).notNullable();
    t.string('expires_at', 32);
    t.string('revoked_at', 32);
    t.string('last_used_at', 32);
    t.index(['partner_id']);
  });
  await knex.schema.createTable('deals_accepted', (t) => {
    t.string('deal_id', 40).primary();
    t.string('partner', 64).notNullable();
    t.string('partner_name', 255).notNullable();
    t.string('deal_name', 255).notNullable();
    t.string('account_id', 255);
    t.string('company_name', 255).notNullable();
    t.string('company_website', 255);
    t.string('stage', 32).notNullable();
    t.string('salesforce_stage', 64).notNullable();
    t.string('hubspot_stage', 64).notNullable();
    t.string('amount', 32); // decimal text in major units (no floats on the way)
    t.bigInteger('amount_minor');
    t.string('currency', 3);
    t.string('close_date', 10).notNullable();
    t.string('partner_reference', 255);
    t.string('registered_at', 32).notNullable();
    t.string('accepted_at', 32).notNullable();
  });
  await knex.schema.createTable('deal_idempotency', (t) => {
    t.string('partner', 64).notNullable();
    t.string('idem_key', 255).notNullable();
    t.string('request_hash', 64).notNullable();
    t.string('state', 16).notNullable(); // pending | done
    t.integer('status_code');
    t.text('response');
    t.string('deal_id', 40);
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
    t.unique(['partner', 'idem_key']);
  });
  await knex.schema.createTable('deal_api_audit', (t) => {
    t.increments('id');
    t.string('at', 32).notNullable();
    t.string('partner_id', 64);
    t.string('credential_id', 40);
    t.string('method', 8).notNullable();
    t.string('path', 255).notNullable();
    t.integer('status').notNullable();
    t.string('outcome', 64).notNullable();
    t.string('deal_id', 40);
    t.string('idempotency_key', 255);
    t.integer('duration_ms');
    t.index(['partner_id', 'at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const t of ['deal_api_audit', 'deal_idempotency', 'deals_accepted', 'api_credentials', 'api_partners']) await knex.schema.dropTableIfExists(t);
}
