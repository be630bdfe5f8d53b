import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT, DEFAULT_USER, start, type SalesforceEmulator } from '../../src/emulators/salesforce/index.js';
import { SalesforceConfig } from '../../src/connectors/salesforce/config.js';
import { connectSalesforce } from '../../src/connectors/salesforce/client.js';
import { SalesforceDestination, parseBulkError } from '../../src/connectors/salesforce/destination.js';
import { FatalError, RetriableError } from '../../src/errors.js';
import type { WriteBatch } from '../../src/connectors/types.js';

/** The Salesforce destination with the real jsforce 3 client against the emulator. */

let emu: SalesforceEmulator | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

async function setup(bulkThreshold = 300) {
  emu = await start({
    seedData: {
      fields: {
        Account: [
          { name: 'Crossbeam_Id__c', type: 'string', externalId: true, unique: true, length: 40 },
          { name: 'Partner_Status__c', type: 'string' },
          { name: 'Overlap_Score__c', type: 'double' },
        ],
      },
    },
  });
  const config = SalesforceConfig.parse({
    type: 'salesforce',
    baseUrl: emu.url,
    clientId: DEFAULT_CLIENT.clientId,
    clientSecret: DEFAULT_CLIENT.clientSecret,
    username: DEFAULT_USER.username,
    password: DEFAULT_USER.password,
    bulkThreshold,
  });
  const dest = new SalesforceDestination(async () => (await connectSalesforce(config)).connection, {
    bulkThreshold,
    bulkPollIntervalMs: 10,
    lockRetryDelayMs: 5,
    baseDelayMs: 5,
  });
  return { emu, dest };
}

const accounts = (n: number, from = 0): WriteBatch => ({
  object: 'Account',
  operation: 'upsert',
  keyField: 'Crossbeam_Id__c',
  records: Array.from({ length: n }, (_, i) => ({ key: `xb-${i + from}`, fields: { Name: `Account ${i + from}`, Partner_Status__c: 'customer', Overlap_Score__c: i / 10 } })),
});

const stored = (emu: SalesforceEmulator) => emu.state.list('Account');

describe('Salesforce destination: sObject Collections', () => {
  it('creates on the first write and updates after, by external id, in one collection per 200', async () => {
    const { emu, dest } = await setup();
    const first = await dest.write(accounts(150));
    expect(first.every((r) => r.ok && r.created === true && r.destinationId)).toBe(true);
    expect(emu.calls('collections-upsert')).toBe(1);
    const changed = accounts(150);
    changed.records[5]!.fields.Partner_Status__c = 'prospect';
    const second = await dest.write(changed);
    expect(second.every((r) => r.ok && r.created === false)).toBe(true);
    expect(stored(emu)).toHaveLength(150);
    expect(stored(emu).find((a) => a.Crossbeam_Id__c === 'xb-5')?.Partner_Status__c).toBe('prospect');
  });

  it('never sends a collection of more than 200 records', async () => {
    const { emu, dest } = await setup();
    const results = await dest.write(accounts(201));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(emu.calls('collections-upsert')).toBe(2);
    expect(dest.capabilities.maxBatch).toBe(200);
    expect(stored(emu)).toHaveLength(201);
  });

  it('maps per-record errors (bad value, missing required field) while the rest land', async () => {
    const { emu, dest } = await setup();
    const batch = accounts(5);
    batch.records[1]!.fields.Overlap_Score__c = 'high';
    batch.records[3]!.fields.Name = null;
    const results = await dest.write(batch);
    expect(results.map((r) => r.ok)).toEqual([true, false, true, false, true]);
    expect(results[1]).toMatchObject({ key: 'xb-1', code: 'INVALID_TYPE_ON_FIELD_IN_RECORD', httpStatus: 400 });
    expect(results[3]).toMatchObject({ key: 'xb-3', code: 'REQUIRED_FIELD_MISSING', httpStatus: 400 });
    expect((results[3] as { message: string }).message).toMatch(/Name/);
    expect(stored(emu)).toHaveLength(3);
  });

  it('retries UNABLE_TO_LOCK_ROW records serially until they land', async () => {
    const { emu, dest } = await setup();
    emu.state.injectRecordError({ count: 3, match: (r) => r.Crossbeam_Id__c === 'xb-2' || r.Crossbeam_Id__c === 'xb-4' });
    const results = await dest.write(accounts(6));
    expect(results.every((r) => r.ok)).toBe(true);
    // 1 collection, then single-record retries for the locked ones.
    expect(emu.calls('collections-upsert')).toBeGreaterThanOrEqual(3);
    expect(stored(emu)).toHaveLength(6);
  });

  it('gives up on a row that stays locked with a retriable reject', async () => {
    const { dest, emu } = await setup();
    emu.state.injectRecordError({ count: 100, match: (r) => r.Crossbeam_Id__c === 'xb-0' });
    const results = await dest.write(accounts(2));
    expect(results[0]).toMatchObject({ ok: false, code: 'UNABLE_TO_LOCK_ROW', retriable: true });
    expect(results[1]).toMatchObject({ ok: true });
  });

  it('updates by the ledger id, or finds ids by the key with one query; update-only never creates', async () => {
    const { emu, dest } = await setup();
    const created = await dest.write(accounts(2));
    const id0 = (created[0] as { destinationId: string }).destinationId;
    const results = await dest.write({
      object: 'Account',
      operation: 'update',
      keyField: 'Crossbeam_Id__c',
      records: [
        { key: 'xb-0', destinationId: id0, fields: { Partner_Status__c: 'churned' } },
        { key: 'xb-1', fields: { Partner_Status__c: 'churned' } },
        { key: 'xb-9', fields: { Partner_Status__c: 'churned' } },
      ],
    });
    expect(results[0]).toMatchObject({ ok: true, destinationId: id0 });
    expect(results[1]).toMatchObject({ ok: true });
    expect(results[2]).toMatchObject({ ok: false, code: 'NOT_FOUND', httpStatus: 404 });
    expect(stored(emu).filter((a) => a.Partner_Status__c === 'churned')).toHaveLength(2);
    expect(stored(emu)).toHaveLength(2);
  });

  it('turns a whole-request 429/5xx/reset into RetriableError (no blind retry by jsforce)', async () => {
    const { emu, dest } = await setup();
    await dest.check();
    emu.faults.set('429:x1@collections-upsert');
    const err = await dest.write(accounts(3)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriableError);
    expect((err as RetriableError).status).toBe(429);
    expect((err as RetriableError).retryAfterMs).toBe(1000);
    emu.faults.set('503:x1@collections-upsert');
    expect(await dest.write(accounts(3)).catch((e: unknown) => e)).toBeInstanceOf(RetriableError);
    emu.faults.set('reset:x1@collections-upsert');
    expect(await dest.write(accounts(3)).catch((e: unknown) => e)).toBeInstanceOf(RetriableError);
    expect(emu.calls('collections-upsert')).toBe(3);
    expect(stored(emu)).toHaveLength(0);
    expect((await dest.write(accounts(3))).every((r) => r.ok)).toBe(true);
  });

  it('preflight: reports missing custom fields with a Setup/Metadata API hint and refuses a non-external-id upsert key', async () => {
    const { dest } = await setup();
    const check = await dest.preflight(
      'Account',
      [
        { name: 'Name', type: 'string' },
        { name: 'Partner_Status__c', type: 'string' },
        { name: 'Partner_Count__c', type: 'number' },
      ],
      true,
      { field: 'Crossbeam_Id__c', operation: 'upsert' },
    );
    expect(check.missing).toEqual(['Partner_Count__c']);
    expect(check.created).toEqual([]);
    expect(check.hints?.join('\n')).toMatch(/Setup → Object Manager → Account.*Metadata API/);
    const err = await dest.preflight('Account', [], false, { field: 'Partner_Status__c', operation: 'upsert' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FatalError);
    expect((err as FatalError).hint).toMatch(/External ID/);
  });
});

describe('Salesforce destination: Bulk API 2.0', () => {
  it('sends a batch above the threshold as one ingest job and maps successes and failures', async () => {
    const { emu, dest } = await setup(300);
    await dest.write(accounts(10));
    const batch = accounts(500);
    batch.records[42]!.fields.Name = null;
    batch.records[7]!.fields.Partner_Status__c = 'prospect, "big"';
    const results = await dest.write(batch);
    expect(emu.calls('bulk2-ingest-create')).toBe(1);
    expect(emu.calls('bulk2-ingest-upload')).toBe(1);
    expect(results).toHaveLength(500);
    expect(results.filter((r) => r.ok)).toHaveLength(499);
    expect(results[42]).toMatchObject({ ok: false, key: 'xb-42', code: 'REQUIRED_FIELD_MISSING' });
    expect(results[3]).toMatchObject({ ok: true, created: false });
    expect(results[300]).toMatchObject({ ok: true, created: true });
    expect(stored(emu)).toHaveLength(499);
    expect(stored(emu).find((a) => a.Crossbeam_Id__c === 'xb-7')?.Partner_Status__c).toBe('prospect, "big"');
  });

  it('retries bulk rows that failed with UNABLE_TO_LOCK_ROW through collections', async () => {
    const { emu, dest } = await setup(100);
    emu.state.injectRecordError({ count: 2 });
    const results = await dest.write(accounts(150));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(emu.calls('bulk2-ingest-create')).toBe(1);
    expect(emu.calls('collections-upsert')).toBe(2);
    expect(stored(emu)).toHaveLength(150);
  });

  it('a job that fails as a whole (unknown column) is a FatalError with the job message', async () => {
    const { dest } = await setup(10);
    const batch = accounts(20);
    for (const r of batch.records) r.fields.No_Such__c = 'x';
    const err = await dest.write(batch).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FatalError);
    expect((err as Error).message).toMatch(/Field name not found : No_Such__c/);
  });

  it('parses Bulk failedResults error cells', () => {
    expect(parseBulkError('REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --')).toEqual({ code: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [Name]' });
    expect(parseBulkError('UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record or 1 records: 001x: --')).toEqual({
      code: 'UNABLE_TO_LOCK_ROW',
      message: 'unable to obtain exclusive access to this record or 1 records: 001x',
    });
  });
});
