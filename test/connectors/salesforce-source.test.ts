import { afterEach, describe, expect, it } from 'vitest';
import { start, DEFAULT_CLIENT, DEFAULT_USER, type SalesforceState } from '../../src/emulators/salesforce/index.js';
import type { Emulator } from '../../src/emulators/shared/types.js';
import { SalesforceConfig } from '../../src/connectors/salesforce/config.js';
import { connectSalesforce, type SalesforceClient } from '../../src/connectors/salesforce/client.js';
import { SalesforceSource } from '../../src/connectors/salesforce/source.js';
import type { ReadMessage, StreamDescriptor } from '../../src/connectors/types.js';
import { AuthError, FatalError } from '../../src/errors.js';

/** The Salesforce source through the real jsforce 3 client against the Salesforce emulator. */

let sf: Emulator<SalesforceState> | undefined;
afterEach(async () => {
  await sf?.stop();
  sf = undefined;
});

const T0 = Date.parse('2024-03-01T00:00:00Z');
let clock = T0;

async function startOrg(accounts = 450, opts: Parameters<typeof start>[0] = {}) {
  const emu = await start({
    ...opts,
    seedData: {
      fields: { Account: [{ name: 'Crossbeam_Id__c', type: 'string', externalId: true, length: 40 }] },
      Account: Array.from({ length: accounts }, (_, i) => ({
        Name: `Account ${i}`,
        Website: `a${i}.example`,
        NumberOfEmployees: i,
        BillingCountry: i % 2 ? 'DE' : 'US',
        Crossbeam_Id__c: `xb-${i}`,
        // A distinct stamp per row, ten minutes apart, all before T0.
        SystemModstamp: new Date(T0 - (accounts - i) * 600_000).toISOString().replace('Z', '+0000'),
      })),
      Contact: [{ LastName: 'Lovelace', Email: 'ada@a1.example' }],
    },
  });
  clock = T0;
  emu.state.now = () => new Date(clock);
  return emu;
}

function sourceFor(emu: Emulator<SalesforceState>, extra: Record<string, unknown> = {}) {
  const config = SalesforceConfig.parse({
    type: 'salesforce',
    loginUrl: emu.url,
    clientId: DEFAULT_CLIENT.clientId,
    clientSecret: DEFAULT_CLIENT.clientSecret,
    username: DEFAULT_USER.username,
    password: DEFAULT_USER.password,
    queryBatchSize: 200,
    overlapMinutes: 0,
    ...extra,
  });
  let client: Promise<SalesforceClient> | undefined;
  const src = new SalesforceSource(() => (client ??= connectSalesforce(config, { baseDelayMs: 5, maxDelayMs: 20, bulkPollIntervalMs: 10 })), config);
  return { src, config };
}

async function drain(src: SalesforceSource, stream: StreamDescriptor, state?: unknown) {
  const out: ReadMessage[] = [];
  for await (const m of src.read(stream, { state })) out.push(m);
  return {
    records: out.flatMap((m) => (m.type === 'record' ? [m.record] : [])),
    deletes: out.flatMap((m) => (m.type === 'delete' ? [m.key] : [])),
    checkpoints: out.flatMap((m) => (m.type === 'checkpoint' ? [m.state] : [])),
    last: out.filter((m) => m.type === 'checkpoint').at(-1)?.state,
  };
}

const streamOf = async (src: SalesforceSource, name: string) => (await src.discover()).find((s) => s.name === name)!;
const liveAccounts = (emu: Emulator<SalesforceState>) => emu.state.list('Account').map((r) => String(r.Id)).sort();

describe('salesforce source', () => {
  it('discovers accounts, contacts and opportunities keyed by Id with SystemModstamp as cursor', async () => {
    sf = await startOrg(1);
    const { src } = sourceFor(sf, { extraFields: { Account: ['Crossbeam_Id__c'] } });
    const streams = await src.discover();
    expect(streams.map((s) => [s.name, s.primaryKey, s.cursorField])).toEqual([
      ['accounts', ['Id'], 'SystemModstamp'],
      ['contacts', ['Id'], 'SystemModstamp'],
      ['opportunities', ['Id'], 'SystemModstamp'],
    ]);
    expect(streams[0]!.params).toEqual({ object: 'Account', extraFields: ['Crossbeam_Id__c'] });
    await expect(src.check()).resolves.toBeUndefined();
  });

  it('pages with queryMore, then reads only changes and deletions since the last SystemModstamp', async () => {
    sf = await startOrg();
    const { src } = sourceFor(sf, { extraFields: { Account: ['Crossbeam_Id__c'] } });
    const s = await streamOf(src, 'accounts');
    const first = await drain(src, s);
    expect(first.records.map((r) => String(r.Id)).sort()).toEqual(liveAccounts(sf));
    expect(first.records[0]).toMatchObject({ Name: 'Account 0', Website: 'a0.example', NumberOfEmployees: 0, Crossbeam_Id__c: 'xb-0' });
    expect(first.records[0]).not.toHaveProperty('attributes');
    expect(sf.calls('query-more')).toBe(2); // 450 rows at 200 a page
    expect(first.checkpoints.length).toBe(3);
    const newest = sf.state.list('Account').find((r) => r.Name === 'Account 449')!;
    expect(first.last).toEqual({ since: new Date(T0 - 600_000).toISOString(), lastId: newest.Id });

    clock = T0 + 3_600_000;
    const [a, b, c] = sf.state.list('Account');
    sf.state.update('Account', String(a!.Id), { Name: 'Renamed' });
    sf.state.remove('Account', String(b!.Id));
    const created = sf.state.create('Account', { Name: 'Brand New' });
    const second = await drain(src, s, first.last);
    // Without an overlap window the read continues exactly after (SystemModstamp, Id) of the last row.
    expect(second.records.map((r) => r.Id).sort()).toEqual([a!.Id, created.id].sort());
    expect(second.records.find((r) => r.Id === a!.Id)?.Name).toBe('Renamed');
    expect(second.deletes).toEqual([{ Id: b!.Id }]);
    expect(second.records.some((r) => r.Id === c!.Id)).toBe(false);
    expect(sf.calls('query-all')).toBeGreaterThan(0);
    expect(second.last).toMatchObject({ since: new Date(clock).toISOString() });
  });

  it('re-reads the overlap window before the saved stamp', async () => {
    sf = await startOrg(20);
    const { src } = sourceFor(sf, { overlapMinutes: 25 });
    const s = await streamOf(src, 'accounts');
    const first = await drain(src, s);
    const second = await drain(src, s, first.last);
    // Stamps are ten minutes apart: 25 minutes back covers the last three rows (re-read on purpose).
    expect(second.records.map((r) => r.Name)).toEqual(['Account 17', 'Account 18', 'Account 19']);
  });

  it('uses Bulk API 2.0 above bulkThreshold, with the same rows and JSON types as SOQL', async () => {
    sf = await startOrg(250);
    const rest = sourceFor(sf);
    const viaRest = await drain(rest.src, await streamOf(rest.src, 'accounts'));
    const bulk = sourceFor(sf, { bulkThreshold: 100 });
    const s = await streamOf(bulk.src, 'accounts');
    const viaBulk = await drain(bulk.src, s);
    expect(sf.calls('bulk2-query-create')).toBe(1);
    const byId = (rows: Record<string, unknown>[]) => Object.fromEntries(rows.map((r) => [String(r.Id), r]));
    expect(byId(viaBulk.records)).toEqual(byId(viaRest.records));
    expect(viaBulk.last).toEqual(viaRest.last);

    // Incremental through bulk: deletions come back as tombstones (queryAll job).
    clock = T0 + 3_600_000;
    const victims = sf.state.list('Account').slice(0, 120);
    for (const v of victims) sf.state.remove('Account', String(v.Id));
    const second = await drain(bulk.src, s, viaBulk.last);
    expect(sf.calls('bulk2-query-create')).toBe(2);
    expect(second.deletes.map((d) => d.Id).sort()).toEqual(victims.map((v) => v.Id).sort());
  });

  it('retries injected 5xx and resets on query and queryMore', async () => {
    sf = await startOrg(450, { faults: '500:x2@query,503:x1@query-more,reset:x1@query-more' });
    const { src } = sourceFor(sf);
    const r = await drain(src, await streamOf(src, 'accounts'));
    expect(r.records.map((x) => String(x.Id)).sort()).toEqual(liveAccounts(sf));
    expect(sf.requests.filter((q) => q.fault).length).toBe(4);
  }, 30_000);

  it('logs in again when the session expires, and works with the refresh-token flow', async () => {
    sf = await startOrg(5);
    const { src } = sourceFor(sf);
    const s = await streamOf(src, 'accounts');
    await drain(src, s);
    const logins = sf.calls('oauth-token');
    sf.state.expireTokens();
    expect((await drain(src, s)).records.length).toBe(5);
    expect(sf.calls('oauth-token')).toBe(logins + 1);

    const refresh = sf.state.issueRefreshToken(DEFAULT_USER.username);
    const viaRefresh = sourceFor(sf, { username: undefined, password: undefined, refreshToken: refresh });
    expect((await drain(viaRefresh.src, s)).records.length).toBe(5);
    sf.state.expireTokens();
    expect((await drain(viaRefresh.src, s)).records.length).toBe(5);
  });

  it('maps bad credentials to AuthError and unknown extra fields to FatalError', async () => {
    sf = await startOrg(1);
    const bad = sourceFor(sf, { password: 'not-the-password' });
    const err = await drain(bad.src, await streamOf(bad.src, 'accounts')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).not.toContain('not-the-password');
    const missing = sourceFor(sf, { extraFields: { Account: ['Nope__c', 'Crossbeam_Id__c'] } });
    await expect(drain(missing.src, await streamOf(missing.src, 'accounts'))).rejects.toThrow(FatalError);
    await expect(drain(missing.src, await streamOf(missing.src, 'accounts'))).rejects.toThrow(/Nope__c/);
  });
});
