import { afterEach, describe, expect, it } from 'vitest';
import { start as startHubspot, DEFAULT_HUBSPOT_TOKEN, type HubSpotEmulator } from '../../src/emulators/hubspot/index.js';
import { start as startIntercom, DEFAULT_INTERCOM_TOKEN, type IntercomEmulator } from '../../src/emulators/intercom/index.js';
import { start as startSalesforce, DEFAULT_CLIENT, DEFAULT_USER, type SalesforceEmulator } from '../../src/emulators/salesforce/index.js';
import { expectCountsAddUp, harness, type Harness } from '../push/harness.js';

/**
 * End to end: `pushTargets` (the push engine: ledger diff, batches, governor, retries) through the
 * registry's real destinations and SDKs to each emulator.
 */

let h: Harness | undefined;
let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await h?.close();
  await stop?.();
  h = undefined;
  stop = undefined;
});

const model = (n: number, change: (i: number) => Record<string, unknown> = () => ({})) =>
  Array.from({ length: n }, (_, i) => ({ account_id: `acc-${String(i).padStart(4, '0')}`, name: `Account ${i}`, seats: 10 + i, ...change(i) }));

describe('push engine → HubSpot emulator', () => {
  it('writes, skips unchanged, sends only the changed record, and lands everything once through 20% faults', async () => {
    const emu: HubSpotEmulator = await startHubspot({
      seedData: { properties: { companies: [{ name: 'partnersync_account_id', type: 'string', fieldType: 'text', hasUniqueValue: true, groupName: 'companyinformation', label: 'id' }] } },
      rateLimit: { max: 10_000, intervalMs: 1000 },
    });
    stop = emu.stop;
    h = await harness({
      connection: { type: 'hubspot', baseUrl: emu.url, accessToken: DEFAULT_HUBSPOT_TOKEN, requestsPerTenSeconds: 100_000 },
      target: { object: 'companies', key: { source: 'account_id', destination: 'partnersync_account_id' }, fields: { name: 'name', numberofemployees: { source: 'seats', type: 'number' } } },
      columns: 'account_id text, name text, seats integer',
    });
    await h.setModel(model(250));
    const first = await h.push(undefined);
    expectCountsAddUp(first);
    expect(first.targets[0]!.counts).toMatchObject({ considered: 250, sent: 250, created: 250 });
    expect(emu.calls('companies-batch-upsert')).toBe(3);

    const again = await h.push(undefined);
    expect(again.targets[0]!.counts).toMatchObject({ unchanged: 250, sent: 0 });
    expect(emu.calls('companies-batch-upsert')).toBe(3);

    await h.setModel(model(250, (i) => (i === 17 ? { name: 'Renamed' } : {})));
    const one = await h.push(undefined);
    expect(one.targets[0]!.counts).toMatchObject({ sent: 1, updated: 1 });
    expect(emu.calls('companies-batch-upsert')).toBe(4);
    expect(emu.state.findBy('companies', 'partnersync_account_id', 'acc-0017')?.properties.name).toBe('Renamed');

    emu.faults.set('429:0.1@companies-batch-upsert,503:0.05@companies-batch-upsert,reset:0.05@companies-batch-upsert', 3);
    const rows = model(600, (i) => ({ seats: 1000 + i }));
    await h.setModel(rows);
    const faulty = await h.push(undefined);
    expectCountsAddUp(faulty);
    expect(faulty.targets[0]!.counts).toMatchObject({ sent: 600, rejected: 0 });
    expect(faulty.targets[0]!.rateLimited + faulty.targets[0]!.retries).toBeGreaterThan(0);
    emu.faults.clear();
    const stored = emu.state.list('companies');
    expect(stored).toHaveLength(600);
    const byKey = new Map(stored.map((r) => [r.properties.partnersync_account_id, r.properties.numberofemployees]));
    for (const r of rows) expect(byKey.get(r.account_id)).toBe(String(r.seats));
  });
});

describe('push engine → Intercom emulator', () => {
  it('writes companies, skips unchanged, and lands everything once through 20% faults', async () => {
    const emu: IntercomEmulator = await startIntercom({ rateLimit: { limit: 10_000, windowMs: 1000 } });
    stop = emu.stop;
    h = await harness({
      connection: { type: 'intercom', baseUrl: emu.url, accessToken: DEFAULT_INTERCOM_TOKEN, requestsPerTenSeconds: 100_000, maxRetries: 8 },
      target: { object: 'companies', key: { source: 'account_id', destination: 'company_id' }, fields: { name: 'name', xb_seats: { source: 'seats', type: 'number' } } },
      columns: 'account_id text, name text, seats integer',
    });
    await h.setModel(model(60));
    const first = await h.push(undefined, { createMissingFields: true });
    expectCountsAddUp(first);
    expect(first.targets[0]!.counts).toMatchObject({ sent: 60 });
    expect(first.targets[0]!.createdFields).toEqual(['xb_seats']);
    expect(emu.calls('companies-create-or-update')).toBe(60);
    const again = await h.push(undefined);
    expect(again.targets[0]!.counts).toMatchObject({ unchanged: 60, sent: 0 });
    expect(emu.calls('companies-create-or-update')).toBe(60);

    emu.faults.set('429:0.1,503:0.05,reset:0.05', 5);
    const rows = model(60, (i) => ({ seats: 500 + i }));
    await h.setModel(rows);
    const faulty = await h.push(undefined);
    expect(faulty.targets[0]!.counts).toMatchObject({ sent: 60, rejected: 0 });
    emu.faults.clear();
    expect(emu.state.companies.size).toBe(60);
    for (const r of rows) expect(emu.state.companyByCompanyId(r.account_id)?.custom_attributes.xb_seats).toBe(r.seats);
  }, 60_000);
});

describe('push engine → Salesforce emulator', () => {
  it('uses collections for a small diff, one Bulk job above the threshold, and skips unchanged rows', async () => {
    const emu: SalesforceEmulator = await startSalesforce({
      seedData: { fields: { Account: [{ name: 'Account_Id__c', type: 'string', externalId: true, unique: true }, { name: 'Seats__c', type: 'double' }] } },
    });
    emu.state.bulkPollsToComplete = 1;
    stop = emu.stop;
    h = await harness({
      connection: {
        type: 'salesforce',
        baseUrl: emu.url,
        clientId: DEFAULT_CLIENT.clientId,
        clientSecret: DEFAULT_CLIENT.clientSecret,
        username: DEFAULT_USER.username,
        password: DEFAULT_USER.password,
        bulkThreshold: 300,
      },
      target: { object: 'Account', key: { source: 'account_id', destination: 'Account_Id__c' }, fields: { Name: 'name', Seats__c: { source: 'seats', type: 'number' } } },
      columns: 'account_id text, name text, seats integer',
    });
    await h.setModel(model(250));
    const first = await h.push(undefined);
    expect(first.targets[0]!.counts).toMatchObject({ sent: 250, created: 250 });
    expect(emu.calls('collections-upsert')).toBe(2);
    expect(emu.calls('bulk2-ingest-create')).toBe(0);

    const rows = model(1000, (i) => ({ seats: 2000 + i }));
    await h.setModel(rows);
    const big = await h.push(undefined);
    expectCountsAddUp(big);
    expect(big.targets[0]!.counts).toMatchObject({ sent: 1000, rejected: 0 });
    expect(big.targets[0]!.writeCalls).toBe(1);
    expect(emu.calls('bulk2-ingest-create')).toBe(1);
    expect(emu.calls('collections-upsert')).toBe(2);

    const again = await h.push(undefined);
    expect(again.targets[0]!.counts).toMatchObject({ unchanged: 1000, sent: 0 });
    expect(emu.calls('bulk2-ingest-create')).toBe(1);
    expect(emu.calls('collections-upsert')).toBe(2);
    const stored = emu.state.list('Account');
    expect(stored).toHaveLength(1000);
    const byKey = new Map(stored.map((r) => [r.Account_Id__c, r.Seats__c]));
    for (const r of rows) expect(byKey.get(r.account_id)).toBe(r.seats);
  }, 60_000);

  it('lands every record exactly once through 20% injected 429/5xx/resets on collections', async () => {
    const emu: SalesforceEmulator = await startSalesforce({
      seedData: { fields: { Account: [{ name: 'Account_Id__c', type: 'string', externalId: true, unique: true }, { name: 'Seats__c', type: 'double' }] } },
    });
    stop = emu.stop;
    h = await harness({
      connection: { type: 'salesforce', baseUrl: emu.url, clientId: DEFAULT_CLIENT.clientId, clientSecret: DEFAULT_CLIENT.clientSecret, username: DEFAULT_USER.username, password: DEFAULT_USER.password },
      target: { object: 'Account', key: { source: 'account_id', destination: 'Account_Id__c' }, fields: { Name: 'name', Seats__c: { source: 'seats', type: 'number' } }, batchSize: 50 },
      columns: 'account_id text, name text, seats integer',
    });
    await h.setModel(model(400));
    emu.faults.set('429:0.1,503:0.05,reset:0.05@collections-upsert', 11);
    const report = await h.push(undefined);
    expectCountsAddUp(report);
    expect(report.targets[0]!.counts).toMatchObject({ sent: 400, created: 400, rejected: 0 });
    expect(report.targets[0]!.rateLimited + report.targets[0]!.retries).toBeGreaterThan(0);
    expect(emu.state.list('Account')).toHaveLength(400);
  }, 60_000);
});
