import { afterEach, describe, expect, it } from 'vitest';
import { start, DEFAULT_HUBSPOT_TOKEN, type HubSpotEmulator, type HubSpotStartOptions } from '../../src/emulators/hubspot/index.js';
import { HubspotConfig } from '../../src/connectors/hubspot/config.js';
import { createHubspotClient } from '../../src/connectors/hubspot/client.js';
import { HubspotSource } from '../../src/connectors/hubspot/source.js';
import type { ReadMessage, StreamDescriptor } from '../../src/connectors/types.js';
import { AuthError, FatalError } from '../../src/errors.js';

/** The HubSpot source through the real @hubspot/api-client 13 against the HubSpot emulator. */

let hs: HubSpotEmulator | undefined;
afterEach(async () => {
  await hs?.stop();
  hs = undefined;
});

// One clock for the emulator's hs_lastmodifieddate stamps and the source's windows.
let clock = Date.parse('2024-05-01T00:00:00Z');
const now = () => clock;

async function startPortal(companies = 250, opts: HubSpotStartOptions = {}) {
  clock = Date.parse('2024-05-01T00:00:00Z');
  return start({
    now,
    rateLimit: { max: 10_000, intervalMs: 1000 },
    searchRateLimit: { max: 10_000, intervalMs: 1000 },
    ...opts,
    seedData: {
      properties: { companies: [{ name: 'xb_account_id', type: 'string' }] },
      companies: Array.from({ length: companies }, (_, i) => ({ id: String(1001 + i), name: `Company ${i}`, domain: `c${i}.example`, xb_account_id: `xb-${i}` })),
      contacts: Array.from({ length: 3 }, (_, i) => ({ id: String(5001 + i), email: `p${i}@c0.example`, firstname: `P${i}` })),
      associations: [
        { from: { type: 'companies', id: '1001' }, to: { type: 'contacts', id: '5001' } },
        { from: { type: 'companies', id: '1001' }, to: { type: 'contacts', id: '5002' } },
        { from: { type: 'companies', id: '1002' }, to: { type: 'contacts', id: '5003' } },
      ],
      ...(opts.seedData ?? {}),
    },
  });
}

function sourceFor(emu: HubSpotEmulator, extra: Record<string, unknown> = {}) {
  const config = HubspotConfig.parse({ type: 'hubspot', baseUrl: emu.url, accessToken: DEFAULT_HUBSPOT_TOKEN, overlapMinutes: 0, ...extra });
  return new HubspotSource(createHubspotClient(config, { baseDelayMs: 5, maxDelayMs: 20 }), config, now);
}

async function drain(src: HubspotSource, stream: StreamDescriptor, state?: unknown) {
  const out: ReadMessage[] = [];
  for await (const m of src.read(stream, { state })) out.push(m);
  return {
    records: out.flatMap((m) => (m.type === 'record' ? [m.record] : [])),
    deletes: out.flatMap((m) => (m.type === 'delete' ? [m.key] : [])),
    checkpoints: out.flatMap((m) => (m.type === 'checkpoint' ? [m.state] : [])),
    last: out.filter((m) => m.type === 'checkpoint').at(-1)?.state,
  };
}

const streamOf = async (src: HubspotSource, name: string) => (await src.discover()).find((s) => s.name === name)!;

describe('hubspot source', () => {
  it('discovers companies, contacts, deals and company_contacts', async () => {
    hs = await startPortal(1);
    const src = sourceFor(hs, { properties: { companies: ['xb_account_id'] } });
    expect((await src.discover()).map((s) => [s.name, s.primaryKey, s.cursorField ?? null])).toEqual([
      ['companies', ['id'], 'hs_lastmodifieddate'],
      ['contacts', ['id'], 'lastmodifieddate'],
      ['deals', ['id'], 'hs_lastmodifieddate'],
      ['company_contacts', ['company_id', 'contact_id'], null],
    ]);
    await expect(src.check()).resolves.toBeUndefined();
  });

  it('lists every record on a first read, then searches only what changed; archived records become tombstones', async () => {
    hs = await startPortal(250);
    const src = sourceFor(hs, { properties: { companies: ['xb_account_id'] } });
    const s = await streamOf(src, 'companies');
    clock += 60_000;
    const first = await drain(src, s);
    expect(first.records.length).toBe(250);
    expect(new Set(first.records.map((r) => r.id)).size).toBe(250);
    expect(first.records[0]).toMatchObject({ id: '1001', name: 'Company 0', domain: 'c0.example', xb_account_id: 'xb-0' });
    expect(hs.calls('companies-list')).toBe(3); // 100 a page
    expect(first.checkpoints.length).toBe(3);
    expect(first.last).toEqual({ since: new Date(clock).toISOString() });

    clock += 60_000;
    const recs = hs.state.list('companies');
    hs.state.update('companies', recs[5]!, { name: 'Renamed' });
    hs.state.archive('companies', recs[6]!);
    const created = hs.state.create('companies', { name: 'Fresh', domain: 'fresh.example' });
    clock += 60_000;
    const second = await drain(src, s, first.last);
    expect(second.records.map((r) => r.id).sort()).toEqual([recs[5]!.id, created.id].sort());
    expect(second.records.find((r) => r.id === recs[5]!.id)?.name).toBe('Renamed');
    expect(second.deletes).toEqual([{ id: recs[6]!.id }]);
    expect(hs.calls('companies-search')).toBeGreaterThan(0);

    clock += 60_000;
    const third = await drain(src, s, second.last);
    expect(third.records).toEqual([]);
    expect(third.deletes).toEqual([]);
  });

  it('gets past the search result cap by keyset on hs_object_id', async () => {
    hs = await startPortal(30, { searchResultCap: 5 });
    const src = sourceFor(hs, { pageSize: 5 });
    const s = await streamOf(src, 'companies');
    clock += 60_000;
    const first = await drain(src, s);
    clock += 60_000;
    const changed = hs.state.list('companies').slice(3, 15);
    for (const c of changed) hs.state.update('companies', c, { domain: `new-${c.id}.example` });
    clock += 60_000;
    const second = await drain(src, s, first.last);
    expect(second.records.map((r) => r.id)).toEqual(changed.map((c) => c.id));
    expect(second.records.every((r) => String(r.domain).startsWith('new-'))).toBe(true);
    // Resuming from a mid-window checkpoint continues after the last id seen.
    const mid = second.checkpoints.find((c) => (c as { pass?: unknown }).pass);
    const resumed = await drain(src, s, mid);
    expect(resumed.records.map((r) => r.id)).toEqual(changed.slice(5).map((c) => c.id));
  });

  it('reads company↔contact associations as a snapshot pass: begun on the first page, ended after the last', async () => {
    hs = await startPortal(150);
    const src = sourceFor(hs);
    const stream = await streamOf(src, 'company_contacts');
    expect(stream.snapshot).toBe(true);
    const out: ReadMessage[] = [];
    for await (const m of src.read(stream, { state: undefined })) out.push(m);
    const records = out.flatMap((m) => (m.type === 'record' ? [m.record] : []));
    expect(records.map((x) => `${String(x.company_id)}>${String(x.contact_id)}`).sort()).toEqual(['1001>5001', '1001>5002', '1002>5003']);
    expect(out[0]).toEqual({ type: 'snapshot-start' });
    expect(out.at(-1)).toEqual({ type: 'checkpoint', state: {}, snapshotEnd: true });
    // Only the last checkpoint ends the pass; a read resumed mid-pass does not start a new one.
    expect(out.filter((m) => m.type === 'checkpoint' && m.snapshotEnd)).toHaveLength(1);
    const mid = out.find((m) => m.type === 'checkpoint' && (m.state as { after?: string }).after)!;
    const resumed: ReadMessage[] = [];
    for await (const m of src.read(stream, { state: (mid as { state: unknown }).state })) resumed.push(m);
    expect(resumed.some((m) => m.type === 'snapshot-start')).toBe(false);
    expect(resumed.at(-1)).toEqual({ type: 'checkpoint', state: {}, snapshotEnd: true });
  });

  it('retries injected 429s, 5xx and resets on list and search', async () => {
    hs = await startPortal(250, { faults: '429:x2@companies-list,500:x1@companies-list,reset:x1@companies-list,503:x1@companies-search,429:x1@companies-search' });
    const src = sourceFor(hs);
    const s = await streamOf(src, 'companies');
    clock += 60_000;
    const first = await drain(src, s);
    expect(first.records.length).toBe(250);
    hs.state.update('companies', hs.state.list('companies')[0]!, { name: 'x' });
    clock += 60_000;
    const second = await drain(src, s, first.last);
    expect(second.records.map((r) => r.id)).toEqual(['1001']);
    expect(hs.requests.filter((q) => q.fault).length).toBe(6);
  });

  it('maps an expired or unknown token to AuthError and an unknown property to FatalError', async () => {
    hs = await startPortal(1, { expiredTokens: ['pat-expired'] });
    const expired = sourceFor(hs, { accessToken: 'pat-expired' });
    const err = await drain(expired, await streamOf(expired, 'companies')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toMatch(/401/);
    const missing = sourceFor(hs, { properties: { companies: ['no_such_prop'] } });
    await expect(drain(missing, await streamOf(missing, 'companies'))).rejects.toThrow(FatalError);
  });
});
