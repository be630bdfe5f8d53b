import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { CommandContext } from '../../src/commands/context.js';
import { dealsAccept, dealsPush, dealsReject, dealsReview } from '../../src/commands/deals.js';
import { partnersAdd, partnersList, partnersRevokeKey, partnersRotateKey } from '../../src/commands/partners.js';
import { start as startHubspot, DEFAULT_HUBSPOT_TOKEN, type HubSpotEmulator } from '../../src/emulators/hubspot/index.js';
import { start as startSalesforce, DEFAULT_CLIENT, DEFAULT_USER, type SalesforceEmulator } from '../../src/emulators/salesforce/index.js';
import { createOutput } from '../../src/ui/output.js';
import { dealWorld, validDeal, type DealWorld } from './helpers.js';

/**
 * Accepted deals reach the CRM through the push engine: a Salesforce Opportunity with partner fields
 * and a HubSpot deal, each exactly once — through an injected outage, a re-run push and a second
 * accept. Commands are called as the CLI calls them, against a partnersync.yaml in a temp folder.
 */

let w: DealWorld | undefined;
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  await w?.close();
  w = undefined;
  for (const s of stops.splice(0)) await s();
});

async function context(dir: string, json = true): Promise<{ ctx: CommandContext; stdout: () => string }> {
  const o = new PassThrough();
  const e = new PassThrough();
  let out = '';
  o.on('data', (c) => (out += c));
  e.resume();
  const output = await createOutput({ json, stdout: o, stderr: e, env: {} });
  return { ctx: { out: output, cwd: dir, env: { PARTNERSYNC_USER: 'jane@ours.example' }, globals: { json }, signal: new AbortController().signal }, stdout: () => out };
}

const fast = { baseDelayMs: 1, maxDelayMs: 5, maxRetries: 2 };

describe('accepted deals → CRM', () => {
  it('lands one Salesforce Opportunity and one HubSpot deal per accepted deal, even after a failed push, a re-push and a second accept', async () => {
    const sf: SalesforceEmulator = await startSalesforce({
      seedData: {
        fields: {
          Opportunity: [
            { name: 'Partner_Deal_Id__c', type: 'string', externalId: true, unique: true },
            { name: 'Partner_Name__c', type: 'string' },
            { name: 'Partner_Reference__c', type: 'string' },
          ],
        },
      },
    });
    stops.push(sf.stop);
    const hs: HubSpotEmulator = await startHubspot({
      seedData: {
        properties: {
          deals: [
            { name: 'partnersync_deal_id', type: 'string', fieldType: 'text', hasUniqueValue: true, groupName: 'dealinformation', label: 'partnersync deal id' },
            { name: 'partner_name', type: 'string', fieldType: 'text', groupName: 'dealinformation', label: 'Partner' },
          ],
        },
      },
      rateLimit: { max: 10_000, intervalMs: 1000 },
    });
    stops.push(hs.stop);

    w = await dealWorld();
    const dir = w.dir;
    fs.writeFileSync(
      path.join(dir, 'partnersync.yaml'),
      stringify({
        staging: { url: 'sqlite:staging.db' },
        connections: {
          salesforce: { type: 'salesforce', baseUrl: sf.url, clientId: DEFAULT_CLIENT.clientId, clientSecret: DEFAULT_CLIENT.clientSecret, username: DEFAULT_USER.username, password: DEFAULT_USER.password, maxRetries: 0 },
          hubspot: { type: 'hubspot', baseUrl: hs.url, accessToken: DEFAULT_HUBSPOT_TOKEN, requestsPerTenSeconds: 10_000, maxRetries: 0 },
        },
        targets: {
          deals_to_salesforce: {
            connection: 'salesforce',
            model: 'deals_accepted',
            object: 'Opportunity',
            key: { source: 'deal_id', destination: 'Partner_Deal_Id__c' },
            fields: { Name: 'deal_name', StageName: 'salesforce_stage', CloseDate: 'close_date', Amount: { source: 'amount', type: 'number' }, Partner_Name__c: 'partner_name', Partner_Reference__c: 'partner_reference' },
          },
          deals_to_hubspot: {
            connection: 'hubspot',
            model: 'deals_accepted',
            object: 'deals',
            key: { source: 'deal_id', destination: 'partnersync_deal_id' },
            fields: { dealname: 'deal_name', dealstage: 'hubspot_stage', amount: 'amount', closedate: 'close_date', partner_name: 'partner_name' },
          },
        },
        deals: { crm: { targets: ['deals_to_salesforce', 'deals_to_hubspot'] } },
      }),
    );

    // Partners through the CLI handlers: the secret is printed once, `list` never shows it.
    const add = await context(dir);
    await partnersAdd(add.ctx, { args: ['northwind'], name: 'Northwind Traders' });
    const added = JSON.parse(add.stdout()) as { credentials: Array<{ value: string; key_id?: string }> };
    const apiKey = added.credentials[0]!.value;
    expect(apiKey).toMatch(/^psk_k_[0-9a-f]{16}_/);
    const list = await context(dir);
    await partnersList(list.ctx);
    expect(list.stdout()).toContain(added.credentials[0]!.key_id!);
    expect(list.stdout()).not.toContain(apiKey.slice(-43));
    expect(JSON.stringify(await w.staging.db('api_credentials').select('*'))).not.toContain(apiKey.slice(-43));

    const submitted = await w.call('POST', '/deals', { auth: apiKey, body: validDeal({ stage: 'negotiation' }) });
    expect(submitted.status).toBe(201);
    const dealId = submitted.body.id as string;
    const other = await w.call('POST', '/deals', { auth: apiKey, body: validDeal({ deal_name: 'Not this one', company_name: 'Hooli', company_website: 'hooli.xyz', contact_email: undefined }) });

    const review = await context(dir);
    await dealsReview(review.ctx, {});
    expect((JSON.parse(review.stdout()) as { deals: Array<{ deal: string }> }).deals.map((d) => d.deal).sort()).toEqual([dealId, other.body.id].sort());

    // First accept: Salesforce is down for every call of this push. The decision stands, nothing is sent.
    sf.faults.set('503:x1000@collections-upsert');
    const first = await context(dir);
    await expect(dealsAccept(first.ctx, { args: [dealId], retry: fast })).rejects.toThrow(/kept failing|unavailable/i);
    expect(sf.state.list('Opportunity')).toHaveLength(0);
    expect((await w.call('GET', `/deals/${dealId}`, { auth: apiKey })).body.status).toBe('accepted');
    sf.faults.clear();

    // The retried push delivers both CRMs.
    const push = await context(dir);
    await dealsPush(push.ctx, { retry: fast });
    const pushed = JSON.parse(push.stdout()) as { push: { targets: Array<{ target: string; counts: { sent: number } }> } };
    expect(pushed.push.targets.map((t) => [t.target, t.counts.sent])).toEqual([
      ['deals_to_salesforce', 1],
      ['deals_to_hubspot', 1],
    ]);

    // Accepting again (and pushing again) changes nothing and sends nothing.
    const again = await context(dir);
    await dealsAccept(again.ctx, { args: [dealId], retry: fast });
    const second = JSON.parse(again.stdout()) as { accepted: Array<{ changed: boolean }>; push: { targets: Array<{ counts: { sent: number; unchanged: number } }> } };
    expect(second.accepted).toEqual([{ deal: dealId, changed: false }]);
    expect(second.push.targets.map((t) => t.counts)).toEqual([expect.objectContaining({ sent: 0, unchanged: 1 }), expect.objectContaining({ sent: 0, unchanged: 1 })]);

    const opps = sf.state.list('Opportunity');
    expect(opps).toHaveLength(1);
    expect(opps[0]).toMatchObject({ Partner_Deal_Id__c: dealId, Name: 'Acme platform expansion', StageName: 'Negotiation/Review', Amount: 12500, Partner_Name__c: 'Northwind Traders', Partner_Reference__c: 'NW-1001' });
    const deals = hs.state.list('deals');
    expect(deals).toHaveLength(1);
    expect(deals[0]!.properties).toMatchObject({ partnersync_deal_id: dealId, dealname: 'Acme platform expansion', dealstage: 'contractsent', amount: '12500.00', partner_name: 'Northwind Traders' });

    // Rejected deals never reach the CRM; attribution sees the accepted one as a registered deal.
    const rej = await context(dir);
    await dealsReject(rej.ctx, { args: [other.body.id], note: 'duplicate of an existing opportunity' });
    const repush = await context(dir);
    await dealsPush(repush.ctx, { retry: fast });
    expect(sf.state.list('Opportunity')).toHaveLength(1);
    expect(hs.state.list('deals')).toHaveLength(1);
    const row = await w.staging.db('deals').where({ deal_id: dealId }).first();
    expect(row).toMatchObject({ status: 'accepted', decided_by: 'jane@ours.example', account_id: '001A' });
    expect(row.accepted_at).toEqual(expect.any(String));

    // Rotating the key and revoking the partner through the CLI handlers.
    const rot = await context(dir);
    await partnersRotateKey(rot.ctx, { args: ['northwind'] });
    const newKey = (JSON.parse(rot.stdout()) as { issued: { value: string } }).issued.value;
    expect((await w.call('GET', '/deals', { auth: apiKey })).status).toBe(401);
    expect((await w.call('GET', '/deals', { auth: newKey })).status).toBe(200);
    const rev = await context(dir);
    await partnersRevokeKey(rev.ctx, { args: ['northwind'] });
    expect((await w.call('GET', '/deals', { auth: newKey })).status).toBe(401);
  }, 60_000);
});
