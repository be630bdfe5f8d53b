import { afterEach, describe, expect, it } from 'vitest';
import { start, DEFAULT_INTERCOM_TOKEN, type IntercomEmulator } from '../../src/emulators/intercom/index.js';
import { IntercomApi } from '../../src/connectors/intercom/client.js';
import { IntercomDestination } from '../../src/connectors/intercom/destination.js';
import { RetriableError } from '../../src/errors.js';
import type { WriteBatch } from '../../src/connectors/types.js';

/** The Intercom destination with the real intercom-client 7 against the emulator. */

let emu: IntercomEmulator | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

/**
 * `paceShare`: the client paces itself at this share of the emulator's limit (default 1: exactly the
 * limit, as a user configures it).
 */
async function setup(opts: { limit?: number; windowMs?: number; maxRetries?: number; attrs?: boolean; paceShare?: number } = {}) {
  emu = await start({
    seedData: {
      dataAttributes:
        opts.attrs === false
          ? []
          : [
              { name: 'xb_partner', model: 'contact', data_type: 'string' },
              { name: 'xb_overlap', model: 'contact', data_type: 'integer' },
              { name: 'xb_status', model: 'company', data_type: 'string' },
            ],
    },
    rateLimit: { limit: opts.limit ?? 1000, windowMs: opts.windowMs ?? 1000 },
  });
  const api = new IntercomApi({ accessToken: DEFAULT_INTERCOM_TOKEN, baseUrl: emu.url, requestsPerTenSeconds: (((opts.limit ?? 1000) * 10_000) / (opts.windowMs ?? 1000)) * (opts.paceShare ?? 1), maxRetries: opts.maxRetries ?? 4, baseDelayMs: 5 });
  return { emu, api, dest: new IntercomDestination(api, { concurrency: 4 }) };
}

const contacts = (n: number, from = 0): WriteBatch => ({
  object: 'contacts',
  operation: 'upsert',
  keyField: 'email',
  records: Array.from({ length: n }, (_, i) => ({ key: `p${i + from}@acme.example`, fields: { name: `Person ${i + from}`, xb_partner: 'Globex', xb_overlap: i + from } })),
});

describe('Intercom destination', () => {
  it('creates contacts on the first write, updates them on the second, and never duplicates', async () => {
    const { emu, dest } = await setup();
    const first = await dest.write(contacts(10));
    expect(first.every((r) => r.ok && r.created)).toBe(true);
    expect(emu.state.contacts.size).toBe(10);
    const changed = contacts(10);
    changed.records[3]!.fields.xb_partner = 'Initech';
    const second = await dest.write(changed);
    expect(second.every((r) => r.ok && r.created === false)).toBe(true);
    expect(emu.state.contacts.size).toBe(10);
    expect(emu.state.contactByEmail('p3@acme.example')?.custom_attributes.xb_partner).toBe('Initech');
    // One search per batch, not one per record.
    expect(emu.calls('contacts-search')).toBe(2);
    expect(emu.calls('contacts-create')).toBe(10);
    expect(emu.calls('contacts-update')).toBe(10);
  });

  it('uses the ledger id when it has one (no search) and recreates a contact deleted meanwhile', async () => {
    const { emu, dest } = await setup();
    const [r] = await dest.write(contacts(1));
    const id = (r as { destinationId: string }).destinationId;
    const before = emu.calls('contacts-search');
    const again = await dest.write({ ...contacts(1), records: [{ key: 'p0@acme.example', destinationId: id, fields: { xb_partner: 'Hooli' } }] });
    expect(again[0]).toMatchObject({ ok: true, destinationId: id, created: false });
    expect(emu.calls('contacts-search')).toBe(before);
    emu.state.contacts.delete(id);
    const recreated = await dest.write({ ...contacts(1), records: [{ key: 'p0@acme.example', destinationId: id, fields: { xb_partner: 'Hooli' } }] });
    expect(recreated[0]).toMatchObject({ ok: true, created: true });
    expect(emu.state.contactByEmail('p0@acme.example')?.custom_attributes.xb_partner).toBe('Hooli');
  });

  it('rejects a record with a bad value or an undefined attribute with Intercom’s code while the rest land', async () => {
    const { emu, dest } = await setup();
    const batch = contacts(5);
    batch.records[1]!.fields.xb_overlap = 'not a number';
    batch.records[2]!.fields.undefined_attr = 'x';
    const results = await dest.write(batch);
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect(results[1]).toMatchObject({ ok: false, code: 'parameter_invalid', httpStatus: 400 });
    expect((results[1] as { message: string }).message).toMatch(/xb_overlap/);
    expect(results[2]).toMatchObject({ ok: false, code: 'parameter_invalid', httpStatus: 400 });
    expect((results[2] as { message: string }).message).toMatch(/undefined_attr.*does not exist/);
    expect(emu.state.contacts.size).toBe(3);
  });

  it('preflight finds undefined custom attributes and creates them with the right data type', async () => {
    const { emu, dest } = await setup({ attrs: false });
    const fields = [
      { name: 'name', type: 'string' as const },
      { name: 'xb_partner', type: 'string' as const },
      { name: 'xb_score', type: 'number' as const },
      { name: 'xb_customer', type: 'boolean' as const },
      { name: 'xb_seen_at', type: 'datetime' as const },
    ];
    const dry = await dest.preflight('contacts', fields, false, { field: 'email', operation: 'upsert' });
    expect(dry.missing).toEqual(['xb_partner', 'xb_score', 'xb_customer', 'xb_seen_at']);
    expect(dry.hints?.[0]).toMatch(/--create-missing-fields/);
    const made = await dest.preflight('contacts', fields, true);
    expect(made.created).toEqual(['xb_partner', 'xb_score', 'xb_customer', 'xb_seen_at']);
    const types = Object.fromEntries(emu.state.dataAttributes.filter((a) => a.custom).map((a) => [a.name, a.data_type]));
    expect(types).toEqual({ xb_partner: 'string', xb_score: 'float', xb_customer: 'boolean', xb_seen_at: 'date' });
    expect((await dest.preflight('contacts', fields, false)).missing).toEqual([]);
    const results = await dest.write({
      object: 'contacts',
      operation: 'upsert',
      keyField: 'email',
      records: [{ key: 'a@b.example', fields: { xb_partner: 'X', xb_score: 1.5, xb_customer: true, xb_seen_at: '2024-03-01T00:00:00Z' } }],
    });
    expect(results[0]).toMatchObject({ ok: true });
    expect(emu.state.contactByEmail('a@b.example')?.custom_attributes.xb_seen_at).toBe(Date.parse('2024-03-01T00:00:00Z') / 1000);
  });

  it('refuses a key Intercom cannot look records up by', async () => {
    const { dest } = await setup();
    await expect(dest.preflight('companies', [], false, { field: 'domain', operation: 'upsert' })).rejects.toThrow(/cannot be keyed by "domain"/);
  });

  it('upserts companies by company_id, and archives contacts for mirror mode', async () => {
    const { emu, dest } = await setup();
    const batch: WriteBatch = { object: 'companies', operation: 'upsert', keyField: 'company_id', records: [{ key: 'acc-1', fields: { name: 'Acme', xb_status: 'customer' } }, { key: 'acc-2', fields: { name: 'Globex' } }] };
    expect((await dest.write(batch)).every((r) => r.ok)).toBe(true);
    batch.records[0]!.fields.xb_status = 'prospect';
    await dest.write(batch);
    expect(emu.state.companies.size).toBe(2);
    expect(emu.state.companyByCompanyId('acc-1')?.custom_attributes.xb_status).toBe('prospect');
    await dest.write(contacts(2));
    const archived = await dest.write({ ...contacts(1), operation: 'archive' });
    expect(archived[0]).toMatchObject({ ok: true });
    expect(emu.state.contactByEmail('p0@acme.example')?.archived).toBe(true);
    expect(emu.state.contactByEmail('p1@acme.example')?.archived).toBe(false);
  });

  it('counts a company as created by partnersync only when the upsert created it (mirror never owns existing ones)', async () => {
    const { emu, dest } = await setup();
    await dest.write({ object: 'companies', operation: 'upsert', keyField: 'company_id', records: [{ key: 'theirs', fields: { name: 'Made in Intercom' } }] });
    // Someone created this company in Intercom a day ago; partnersync only updates it.
    emu.state.companyByCompanyId('theirs')!.created_at -= 86_400;
    const results = await dest.write({
      object: 'companies',
      operation: 'upsert',
      keyField: 'company_id',
      records: [{ key: 'theirs', fields: { name: 'Made in Intercom', xb_status: 'customer' } }, { key: 'ours', fields: { name: 'New' } }],
    });
    expect(results.map((r) => [r.key, r.ok && r.created])).toEqual([['theirs', false], ['ours', true]]);
  });

  it('paces requests within the rate limit: no 429 from the emulator with concurrency 4', async () => {
    // A 500 ms window instead of Intercom's 10 s, so paced at 80% of it: at the full rate (51 ms apart)
    // a request delayed by 10 ms on a loaded machine lets an 11th into a window, where Intercom's 10 s
    // windows leave the client's 2% margin 200 ms of slack. Unpaced, 4 workers would send 21 requests at
    // once and get 429s.
    const { emu, dest, api } = await setup({ limit: 10, windowMs: 500, paceShare: 0.8 });
    const t0 = Date.now();
    const results = await dest.write(contacts(20));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(emu.requests.filter((r) => r.status === 429)).toHaveLength(0);
    expect(api.stats.throttled).toBe(0);
    // 21 calls at 8 per 500 ms take more than two full windows.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  });

  it('retries injected 429/5xx/resets inside the batch and lands every record exactly once', async () => {
    const { emu, dest, api } = await setup({ maxRetries: 8 });
    emu.faults.set('429:0.1,503:0.05,reset:0.05', 7);
    const results = await dest.write(contacts(40));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(api.stats.retries).toBeGreaterThan(0);
    expect(emu.state.contacts.size).toBe(40);
    expect(new Set([...emu.state.contacts.values()].map((c) => c.email)).size).toBe(40);
  });

  it('throws RetriableError with the reset delay when nothing of the batch gets through', async () => {
    const { emu, dest } = await setup({ maxRetries: 0 });
    emu.faults.set('429:x1@contacts-search');
    const err = await dest.write(contacts(3)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriableError);
    expect((err as RetriableError).status).toBe(429);
    expect((err as RetriableError).retryAfterMs).toBeGreaterThanOrEqual(0);
    expect((err as RetriableError).retryAfterMs).toBeLessThanOrEqual(2000);
    expect(emu.state.contacts.size).toBe(0);
  });
});
