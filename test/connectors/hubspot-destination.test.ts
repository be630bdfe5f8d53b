import { afterEach, describe, expect, it } from 'vitest';
import { start, DEFAULT_HUBSPOT_TOKEN, type HubSpotEmulator } from '../../src/emulators/hubspot/index.js';
import { HubspotDestination } from '../../src/connectors/hubspot/destination.js';
import { AuthError, FatalError, RetriableError } from '../../src/errors.js';
import type { WriteBatch } from '../../src/connectors/types.js';

/** The HubSpot destination with the real @hubspot/api-client 13 against the emulator. */

let emu: HubSpotEmulator | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

async function setup(rateLimit = { max: 1000, intervalMs: 1000 }) {
  emu = await start({
    seedData: {
      properties: {
        companies: [
          { name: 'partnersync_account_id', type: 'string', fieldType: 'text', hasUniqueValue: true, groupName: 'companyinformation', label: 'Account id' },
          { name: 'xb_partner', type: 'string', fieldType: 'text', groupName: 'companyinformation', label: 'Partner' },
        ],
      },
    },
    rateLimit,
  });
  const dest = new HubspotDestination({ accessToken: DEFAULT_HUBSPOT_TOKEN, baseUrl: emu.url, requestsPerTenSeconds: 100 });
  return { emu, dest };
}

const companies = (n: number, from = 0): WriteBatch => ({
  object: 'companies',
  operation: 'upsert',
  keyField: 'partnersync_account_id',
  records: Array.from({ length: n }, (_, i) => ({ key: `acc-${i + from}`, fields: { name: `Company ${i + from}`, domain: `c${i + from}.example`, xb_partner: 'Globex', numberofemployees: 10 + i } })),
});

describe('HubSpot destination', () => {
  it('upserts by a unique property: creates on the first write, updates after, in one call per batch', async () => {
    const { emu, dest } = await setup();
    const first = await dest.write(companies(100));
    expect(first).toHaveLength(100);
    expect(first.every((r) => r.ok && r.created === true && r.destinationId)).toBe(true);
    expect(emu.calls('companies-batch-upsert')).toBe(1);
    const changed = companies(100);
    changed.records[7]!.fields.xb_partner = 'Initech';
    const second = await dest.write(changed);
    expect(second.every((r) => r.ok && r.created === false)).toBe(true);
    expect(second[7]).toMatchObject({ key: 'acc-7', destinationId: (first[7] as { destinationId: string }).destinationId });
    expect(emu.state.list('companies')).toHaveLength(100);
    expect(emu.state.findBy('companies', 'partnersync_account_id', 'acc-7')?.properties.xb_partner).toBe('Initech');
  });

  it('never sends more than 100 inputs in one call', async () => {
    const { emu, dest } = await setup();
    await expect(dest.write(companies(101))).rejects.toThrow(/at most 100/);
    expect(emu.calls('companies-batch-upsert')).toBe(0);
    expect(dest.capabilities.maxBatch).toBe(100);
  });

  it('maps 207 per-record errors to their records while the rest land', async () => {
    const { emu, dest } = await setup();
    const batch = companies(5);
    batch.records[1]!.fields.numberofemployees = 'lots';
    batch.records[3]!.fields.no_such_property = 'x';
    const results = await dest.write(batch);
    expect(results.map((r) => r.ok)).toEqual([true, false, true, false, true]);
    expect(results[1]).toMatchObject({ key: 'acc-1', code: 'INVALID_INTEGER', httpStatus: 400 });
    expect((results[1] as { message: string }).message).toMatch(/lots was not a valid number/);
    expect(results[3]).toMatchObject({ key: 'acc-3', code: 'PROPERTY_DOESNT_EXIST', httpStatus: 400 });
    expect(emu.state.list('companies')).toHaveLength(3);
  });

  it('updates by the HubSpot id from the ledger and reports unknown ids per record', async () => {
    const { emu, dest } = await setup();
    const created = await dest.write(companies(2));
    const id0 = (created[0] as { destinationId: string }).destinationId;
    const results = await dest.write({
      object: 'companies',
      operation: 'update',
      keyField: 'partnersync_account_id',
      records: [
        { key: 'acc-0', destinationId: id0, fields: { xb_partner: 'Hooli' } },
        { key: 'acc-9', destinationId: '999999', fields: { xb_partner: 'Hooli' } },
      ],
    });
    expect(results[0]).toMatchObject({ ok: true, destinationId: id0 });
    expect(results[1]).toMatchObject({ ok: false, key: 'acc-9', code: 'NOT_FOUND', httpStatus: 404 });
    expect(emu.state.get('companies', id0)?.properties.xb_partner).toBe('Hooli');
    expect(emu.calls('companies-batch-update')).toBe(1);
  });

  it('bisects a batch create refused for one record (a unique value taken) so the rest land', async () => {
    const { emu, dest } = await setup();
    await dest.write(companies(1, 3));
    const results = await dest.write({ ...companies(6), operation: 'create' });
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(results[3]).toMatchObject({ ok: false, key: 'acc-3', code: 'DUPLICATE', httpStatus: 409 });
    expect(emu.state.list('companies')).toHaveLength(6);
  });

  it('preflight: finds missing properties, creates them in the partnersync group, and refuses a non-unique upsert key', async () => {
    const { emu, dest } = await setup();
    const fields = [
      { name: 'name', type: 'string' as const },
      { name: 'xb_overlap', type: 'number' as const },
      { name: 'xb_is_customer', type: 'boolean' as const },
      { name: 'xb_seen_at', type: 'datetime' as const },
    ];
    const dry = await dest.preflight('companies', fields, false);
    expect(dry.missing).toEqual(['xb_overlap', 'xb_is_customer', 'xb_seen_at']);
    const made = await dest.preflight('companies', fields, true);
    expect(made.created).toEqual(['xb_overlap', 'xb_is_customer', 'xb_seen_at']);
    const defs = emu.state.properties.companies;
    expect(defs.get('xb_overlap')).toMatchObject({ type: 'number', groupName: 'partnersync' });
    expect(defs.get('xb_is_customer')).toMatchObject({ type: 'bool' });
    expect(defs.get('xb_seen_at')).toMatchObject({ type: 'datetime' });

    const err = await dest.preflight('companies', fields, false, { field: 'domain', operation: 'upsert' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FatalError);
    expect((err as FatalError).hint).toMatch(/Create a unique property \(e\.g\. partnersync_account_id/);
    expect((err as FatalError).hint).toMatch(/update-only mode keyed by hs_object_id/);
    // A key partnersync creates is created unique, so upserting by it works.
    const key = await dest.preflight('companies', [], true, { field: 'xb_key', operation: 'upsert' });
    expect(key.created).toEqual(['xb_key']);
    expect(defs.get('xb_key')?.hasUniqueValue).toBe(true);
  });

  it('fails a write keyed by a non-unique property with the same hint (the API refuses it)', async () => {
    const { dest } = await setup();
    const err = await dest.write({ ...companies(2), keyField: 'domain' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FatalError);
    expect((err as FatalError).code).toBe('HUBSPOT_KEY_NOT_UNIQUE');
  });

  it('turns a 429 into RetriableError with the wait from the rate-limit headers (the SDK does not retry)', async () => {
    const { emu, dest } = await setup({ max: 2, intervalMs: 60_000 });
    await dest.write(companies(1));
    await dest.write(companies(1));
    const err = await dest.write(companies(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriableError);
    expect((err as RetriableError).status).toBe(429);
    expect((err as RetriableError).retryAfterMs).toBe(60_000);
    expect(emu.calls('companies-batch-upsert')).toBe(3);
  });

  it('maps injected 5xx and resets to RetriableError and a bad token to AuthError', async () => {
    const { emu, dest } = await setup();
    emu.faults.set('503:x1,reset:x1');
    await expect(dest.write(companies(1))).rejects.toBeInstanceOf(RetriableError);
    await expect(dest.write(companies(1))).rejects.toBeInstanceOf(RetriableError);
    expect(emu.state.list('companies')).toHaveLength(0);
    const bad = new HubspotDestination({ accessToken: 'pat-wrong', baseUrl: emu.url, requestsPerTenSeconds: 100 });
    await expect(bad.write(companies(1))).rejects.toBeInstanceOf(AuthError);
  });
});
