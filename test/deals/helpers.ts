import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServeApp } from '../../src/server/app.js';
import { ServeConfig } from '../../src/server/config.js';
import { DealsConfig, type DealsConfigInput } from '../../src/deals/config.js';
import { mountDealApi, type DealApi } from '../../src/deals/index.js';
import { openStaging, type Staging } from '../../src/staging/db.js';

/** Our accounts in staging, as the model step builds them. */
export const ACCOUNTS = [
  { account_id: '001A', name: 'Acme Corporation', website: 'https://www.acme.com', domains: 'acme.io', parent_account_id: null, country: 'US', duns: null },
  { account_id: '001B', name: 'Globex GmbH', website: 'globex.de', domains: null, parent_account_id: null, country: 'DE', duns: null },
  { account_id: '001C', name: 'Initech', website: 'initech.com', domains: null, parent_account_id: null, country: 'US', duns: null },
  { account_id: '001D', name: 'Umbrella Labs', website: 'umbrella.example.org', domains: null, parent_account_id: null, country: 'GB', duns: null },
  { account_id: '001E', name: 'Umbrella Labs', website: 'umbrellalabs.co.uk', domains: null, parent_account_id: null, country: 'GB', duns: null },
];

export const validDeal = (over: Record<string, unknown> = {}) => ({
  deal_name: 'Acme platform expansion',
  company_name: 'Acme Corporation',
  company_website: 'acme.com',
  contact_email: 'jane@acme.com',
  company_country: 'us',
  stage: 'proposal',
  amount_minor: 1_250_000,
  currency: 'USD',
  expected_close_date: '2030-09-30',
  partner_reference: 'NW-1001',
  ...over,
});

export interface DealWorld {
  url: string;
  base: string;
  dir: string;
  staging: Staging;
  api: DealApi;
  /** Add a partner; returns its fresh credentials. */
  partner(id: string, opts?: { expiresAt?: Date; scopes?: Array<'deals:read' | 'deals:write'> }): Promise<{ apiKey: string; keyId: string; clientId: string; clientSecret: string }>;
  call(method: string, p: string, opts?: { auth?: string; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<{ status: number; headers: Headers; body: any; text: string }>;
  close(): Promise<void>;
}

export async function dealWorld(opts: { deals?: DealsConfigInput; accounts?: boolean; opportunities?: Array<Record<string, unknown>>; now?: () => Date; stagingUrl?: string } = {}): Promise<DealWorld> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partnersync-deals-'));
  const staging = await openStaging(opts.stagingUrl ?? `sqlite:${path.join(dir, 'staging.db')}`);
  if (opts.accounts !== false) {
    await staging.db.schema.createTable('accounts', (t) => {
      for (const c of ['account_id', 'name', 'website', 'domains', 'parent_account_id', 'country', 'duns']) t.string(c);
    });
    await staging.db('accounts').insert(ACCOUNTS);
  }
  if (opts.opportunities) {
    await staging.db.schema.createTable('opportunities', (t) => {
      for (const c of ['opportunity_id', 'account_id', 'currency', 'created_at', 'closed_at']) t.string(c);
      t.bigInteger('amount_minor');
      t.boolean('is_won');
    });
    await staging.db('opportunities').insert(opts.opportunities);
  }
  const deals = DealsConfig.parse({ tokenSecret: 'test-secret-test-secret-test-secret-0123', ...opts.deals });
  const app = createServeApp({ config: ServeConfig.parse({ port: 0 }), staging, worker: false });
  const api = await mountDealApi(app, { deals, staging, now: opts.now, idempotencyWaitMs: 5000 });
  const server = await app.start();
  const base = `${server.url}${deals.basePath}`;
  return {
    url: server.url,
    base,
    dir,
    staging,
    api,
    async partner(id, o = {}) {
      const r = await api.credentials.addPartner({ partnerId: id, name: id.toUpperCase(), ttlDays: 365, scopes: o.scopes });
      if (o.expiresAt) await staging.db('api_credentials').where({ partner_id: id }).update({ expires_at: o.expiresAt.toISOString() });
      return { apiKey: r.apiKey.secret, keyId: r.apiKey.credentialId, clientId: r.oauthClient.credentialId, clientSecret: r.oauthClient.secret };
    },
    async call(method, p, o = {}) {
      const headers: Record<string, string> = { ...(o.auth ? { authorization: `Bearer ${o.auth}` } : {}), ...(o.body !== undefined || o.raw !== undefined ? { 'content-type': 'application/json' } : {}), ...o.headers };
      const res = await fetch(`${base}${p}`, { method, headers, body: o.raw ?? (o.body !== undefined ? JSON.stringify(o.body) : undefined) });
      const text = await res.text();
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      return { status: res.status, headers: res.headers, body, text };
    },
    async close() {
      await app.stop();
      await staging.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
