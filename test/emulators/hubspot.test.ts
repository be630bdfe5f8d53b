import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@hubspot/api-client';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { start, DEFAULT_HUBSPOT_TOKEN, type HubSpotEmulator } from '../../src/emulators/hubspot/index.js';

/** Contract suite: the real @hubspot/api-client 13 against the emulator. */

let hs: HubSpotEmulator;
let client: Client;

const bodyOf = (err: unknown) => (err as { body?: Record<string, unknown> }).body ?? {};
const codeOf = (err: unknown) => (err as { code?: number }).code;

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  hs = await start({
    seedData: {
      properties: { companies: [{ name: 'xb_account_id', type: 'string', fieldType: 'text', hasUniqueValue: true, groupName: 'companyinformation', label: 'XB id' }] },
      companies: Array.from({ length: 25 }, (_, i) => ({ name: `Seed ${i}`, domain: `seed${i}.example`, xb_account_id: `xb-${i}`, numberofemployees: String(i * 10) })),
      contacts: [{ email: 'ada@seed0.example', firstname: 'Ada' }],
    },
    rateLimit: { max: 1000, intervalMs: 1000 },
    searchRateLimit: { max: 1000, intervalMs: 1000 },
  });
  client = new Client({ accessToken: DEFAULT_HUBSPOT_TOKEN, basePath: hs.url });
});

afterAll(async () => {
  await hs.stop();
});

describe('HubSpot emulator: auth and basics', () => {
  it('rejects an unknown token with 401 INVALID_AUTHENTICATION and an expired one with EXPIRED_AUTHENTICATION', async () => {
    const bad = new Client({ accessToken: 'pat-na1-wrong', basePath: hs.url });
    const err = await rejection(bad.crm.companies.basicApi.getPage(5));
    expect(codeOf(err)).toBe(401);
    expect(bodyOf(err)).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION' });
    hs.expiredTokens.add('pat-old');
    const old = new Client({ accessToken: 'pat-old', basePath: hs.url });
    const err2 = await rejection(old.crm.contacts.basicApi.getPage(5));
    expect(codeOf(err2)).toBe(401);
    expect(bodyOf(err2).category).toBe('EXPIRED_AUTHENTICATION');
  });

  it('pages companies with `after` and returns only requested properties, plus rate-limit headers', async () => {
    const first = await client.crm.companies.basicApi.getPageWithHttpInfo(10, undefined, ['name', 'domain']);
    expect(first.data.results).toHaveLength(10);
    expect(Object.keys(first.data.results[0]!.properties).sort()).toEqual(['createdate', 'domain', 'hs_lastmodifieddate', 'hs_object_id', 'name']);
    expect(first.data.results[0]!.createdAt).toBeInstanceOf(Date);
    expect(first.headers['x-hubspot-ratelimit-max']).toBe('1000');
    expect(Number(first.headers['x-hubspot-ratelimit-remaining'])).toBeLessThan(1000);
    expect(first.headers['x-hubspot-ratelimit-daily']).toBeDefined();
    expect(first.headers['x-hubspot-ratelimit-interval-milliseconds']).toBe('1000');
    const after = first.data.paging?.next?.after;
    expect(after).toMatch(/^\d+$/);
    const second = await client.crm.companies.basicApi.getPage(10, after);
    expect(second.results[0]!.id).not.toBe(first.data.results[9]!.id);
    const all = await client.crm.companies.getAll(100, undefined, ['name']);
    expect(all.length).toBe(hs.state.list('companies').length);
  });

  it('gets, creates, updates and archives single records', async () => {
    const created = await client.crm.contacts.basicApi.create({ properties: { email: 'grace@hopper.example', firstname: 'Grace' }, associations: [] });
    expect(created.properties.hs_object_id).toBe(created.id);
    const byEmail = await client.crm.contacts.basicApi.getById('GRACE@hopper.example', ['firstname'], undefined, undefined, false, 'email');
    expect(byEmail.id).toBe(created.id);
    const updated = await client.crm.contacts.basicApi.update(created.id, { properties: { lastname: 'Hopper' } });
    expect(updated.properties.lastname).toBe('Hopper');
    expect(updated.updatedAt.getTime()).toBeGreaterThan(created.updatedAt.getTime());
    const dupe = await rejection(client.crm.contacts.basicApi.create({ properties: { email: 'grace@hopper.example' }, associations: [] }));
    expect(codeOf(dupe)).toBe(409);
    expect(String(bodyOf(dupe).message)).toContain(`Existing ID: ${created.id}`);
    await client.crm.contacts.basicApi.archive(created.id);
    const gone = await rejection(client.crm.contacts.basicApi.getById(created.id));
    expect(codeOf(gone)).toBe(404);
    expect(bodyOf(gone).category).toBe('OBJECT_NOT_FOUND');
  });
});

describe('HubSpot emulator: batch', () => {
  it('refuses 101 inputs with a 400 VALIDATION_ERROR', async () => {
    const inputs = Array.from({ length: 101 }, (_, i) => ({ properties: { name: `Too many ${i}` }, associations: [] }));
    const err = await rejection(client.crm.companies.batchApi.create({ inputs }));
    expect(codeOf(err)).toBe(400);
    expect(bodyOf(err)).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    expect(String(bodyOf(err).message)).toContain('100');
    expect(hs.state.list('companies').some((c) => c.properties.name === 'Too many 0')).toBe(false);
  });

  it('creates and reads a batch of 100, reporting missing ids as a 207 error', async () => {
    const inputs = Array.from({ length: 100 }, (_, i) => ({ properties: { name: `Batch ${i}`, domain: `batch${i}.example` }, associations: [] }));
    const created = await client.crm.companies.batchApi.create({ inputs });
    expect(created.status).toBe('COMPLETE');
    expect(created.results).toHaveLength(100);
    const ids = created.results.slice(0, 3).map((r) => ({ id: r.id }));
    const read = await client.crm.companies.batchApi.read({ inputs: [...ids, { id: '999999' }], properties: ['domain'], propertiesWithHistory: [] });
    expect(read.results).toHaveLength(3);
    expect((read as { errors?: Array<{ category: string; context: Record<string, string[]> }> }).errors?.[0]).toMatchObject({
      category: 'OBJECT_NOT_FOUND',
      context: { ids: ['999999'] },
    });
  });

  it('upserts by a unique property, marking new records', async () => {
    const res = await client.crm.companies.batchApi.upsert({
      inputs: [
        { idProperty: 'xb_account_id', id: 'xb-1', properties: { name: 'Seed one renamed' } },
        { idProperty: 'xb_account_id', id: 'xb-new', properties: { name: 'Brand new' } },
      ],
    });
    const byKey = Object.fromEntries(res.results.map((r) => [r.properties.xb_account_id, r]));
    expect(byKey['xb-1']!._new).toBe(false);
    expect(byKey['xb-new']!._new).toBe(true);
    expect(hs.state.findBy('companies', 'xb_account_id', 'xb-1')?.properties.name).toBe('Seed one renamed');
  });

  it('refuses upsert by a property that is not unique with the real error', async () => {
    const err = await rejection(
      client.crm.companies.batchApi.upsert({ inputs: [{ idProperty: 'domain', id: 'seed1.example', properties: { name: 'x' } }] }),
    );
    expect(codeOf(err)).toBe(400);
    expect(bodyOf(err).category).toBe('VALIDATION_ERROR');
    expect(String(bodyOf(err).message)).toMatch(/non-unique 0-2 property domain/);
  });

  it('reports a missing property and a bad value per record (207) while writing the rest', async () => {
    const seed2 = hs.state.findBy('companies', 'xb_account_id', 'xb-2')!;
    const seed3 = hs.state.findBy('companies', 'xb_account_id', 'xb-3')!;
    const seed4 = hs.state.findBy('companies', 'xb_account_id', 'xb-4')!;
    const res = await client.crm.companies.batchApi.update({
      inputs: [
        { id: seed2.id, properties: { xb_partner_status: 'customer' } },
        { id: seed3.id, properties: { numberofemployees: 'lots' } },
        { id: seed4.id, properties: { industry: 'Software' } },
      ],
    });
    const errors = (res as { errors?: Array<{ category: string; context: Record<string, string[]>; errors: Array<{ code: string }> }> }).errors ?? [];
    expect(res.results.map((r) => r.id)).toEqual([seed4.id]);
    expect(errors).toHaveLength(2);
    const missing = errors.find((e) => e.context.ids?.[0] === seed2.id)!;
    expect(missing.errors[0]!.code).toBe('PROPERTY_DOESNT_EXIST');
    expect(errors.find((e) => e.context.ids?.[0] === seed3.id)!.errors[0]!.code).toBe('INVALID_INTEGER');
    expect(hs.state.get('companies', seed4.id)?.properties.industry).toBe('Software');
  });

  it('creates a property (201), refuses a duplicate (409), then accepts writes to it', async () => {
    const prop = await client.crm.properties.coreApi.create('companies', {
      name: 'xb_partner_status',
      label: 'Partner status',
      type: 'enumeration' as never,
      fieldType: 'select' as never,
      groupName: 'companyinformation',
      options: [
        { label: 'Customer', value: 'customer', displayOrder: 0, hidden: false },
        { label: 'Prospect', value: 'prospect', displayOrder: 1, hidden: false },
      ],
    });
    expect(prop.name).toBe('xb_partner_status');
    expect(prop.createdAt).toBeInstanceOf(Date);
    const dup = await rejection(
      client.crm.properties.coreApi.create('companies', { name: 'xb_partner_status', label: 'x', type: 'string' as never, fieldType: 'text' as never, groupName: 'companyinformation' }),
    );
    expect(codeOf(dup)).toBe(409);
    const list = await client.crm.properties.coreApi.getAll('companies');
    expect(list.results.find((p) => p.name === 'xb_account_id')?.hasUniqueValue).toBe(true);
    const seed2 = hs.state.findBy('companies', 'xb_account_id', 'xb-2')!;
    const bad = await client.crm.companies.batchApi.update({ inputs: [{ id: seed2.id, properties: { xb_partner_status: 'partner' } }] });
    expect((bad as { errors?: Array<{ errors: Array<{ code: string }> }> }).errors?.[0]?.errors[0]?.code).toBe('INVALID_OPTION');
    const ok = await client.crm.companies.batchApi.update({ inputs: [{ id: seed2.id, properties: { xb_partner_status: 'customer' } }] });
    expect(ok.results[0]!.properties.xb_partner_status).toBe('customer');
  });
});

describe('HubSpot emulator: search', () => {
  it('filters with every operator family, sorts and pages with after', async () => {
    const search = (filters: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) =>
      client.crm.companies.searchApi.doSearch({ filterGroups: [{ filters: filters as never }], properties: ['name', 'numberofemployees'], limit: 100, after: '0', sorts: [], ...extra });
    expect((await search([{ propertyName: 'domain', operator: 'EQ', value: 'SEED5.example' }])).total).toBe(1);
    expect((await search([{ propertyName: 'numberofemployees', operator: 'GTE', value: '200' }])).total).toBe(5);
    expect((await search([{ propertyName: 'numberofemployees', operator: 'LT', value: '30' }])).total).toBe(3);
    expect((await search([{ propertyName: 'numberofemployees', operator: 'GT', value: '230' }, { propertyName: 'numberofemployees', operator: 'LTE', value: '240' }])).total).toBe(1);
    expect((await search([{ propertyName: 'xb_account_id', operator: 'IN', values: ['xb-7', 'xb-8', 'nope'] }])).total).toBe(2);
    expect((await search([{ propertyName: 'numberofemployees', operator: 'HAS_PROPERTY' }])).total).toBe(25);
    expect((await search([{ propertyName: 'numberofemployees', operator: 'NOT_HAS_PROPERTY' }])).total).toBeGreaterThan(0);
    expect((await search([{ propertyName: 'name', operator: 'CONTAINS_TOKEN', value: 'renamed' }])).total).toBe(1);
    expect((await search([{ propertyName: 'xb_account_id', operator: 'NEQ', value: 'xb-1' }, { propertyName: 'xb_account_id', operator: 'HAS_PROPERTY' }])).total).toBe(25);

    const sorted = await search([{ propertyName: 'numberofemployees', operator: 'HAS_PROPERTY' }], {
      sorts: [{ propertyName: 'numberofemployees', direction: 'DESCENDING' }] as never,
      limit: 10,
    });
    expect(sorted.results[0]!.properties.numberofemployees).toBe('240');
    expect(sorted.paging?.next?.after).toBe('10');
    const page2 = await search([{ propertyName: 'numberofemployees', operator: 'HAS_PROPERTY' }], {
      sorts: [{ propertyName: 'numberofemployees', direction: 'DESCENDING' }] as never,
      limit: 10,
      after: sorted.paging!.next!.after,
    });
    expect(page2.results[0]!.properties.numberofemployees).toBe('140');
    const last = await search([{ propertyName: 'numberofemployees', operator: 'HAS_PROPERTY' }], { limit: 10, after: '20' });
    expect(last.results).toHaveLength(5);
    expect(last.paging).toBeUndefined();
  });

  it('finds records modified since a timestamp (hs_lastmodifieddate maintained)', async () => {
    // The emulator's stamps are strictly increasing, so after a burst of writes they can run ahead of the
    // wall clock: "since" is the later of now and the newest stamp.
    const newest = Math.max(...hs.state.list('companies').map((r) => Date.parse(String(r.properties.hs_lastmodifieddate))));
    const since = Math.max(Date.now(), newest);
    await new Promise((r) => setTimeout(r, 5));
    const target = hs.state.findBy('companies', 'xb_account_id', 'xb-9')!;
    await client.crm.companies.basicApi.update(target.id, { properties: { city: 'Lyon' } });
    const res = await client.crm.companies.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'hs_lastmodifieddate', operator: 'GT' as never, value: String(since) }] }],
      properties: ['city'],
      limit: 100,
      after: '0',
      sorts: [],
    });
    expect(res.results.map((r) => r.id)).toEqual([target.id]);
  });

  it('refuses limit above 200', async () => {
    const err = await rejection(client.crm.companies.searchApi.doSearch({ filterGroups: [], limit: 201, after: '0', sorts: [], properties: [] }));
    expect(codeOf(err)).toBe(400);
  });
});

describe('HubSpot emulator: associations', () => {
  it('associates a contact with a company (v4 default and labelled, v3 batch) and lists both directions', async () => {
    const company = hs.state.findBy('companies', 'xb_account_id', 'xb-0')!;
    const contact = hs.state.findBy('contacts', 'email', 'ada@seed0.example')!;
    const def = await client.crm.associations.v4.basicApi.createDefault('contacts', contact.id, 'companies', company.id);
    expect(def.results.map((r) => r.associationSpec.associationTypeId).sort()).toEqual([279, 280]);
    const labelled = await client.crm.associations.v4.basicApi.create('contacts', contact.id, 'companies', company.id, [
      { associationCategory: 'HUBSPOT_DEFINED' as never, associationTypeId: 1 },
    ]);
    expect(labelled.labels).toContain('Primary');
    const fromCompany = await client.crm.associations.v4.basicApi.getPage('companies', company.id, 'contacts');
    expect(fromCompany.results.map((r) => String(r.toObjectId))).toEqual([contact.id]);
    expect(fromCompany.results[0]!.associationTypes.map((t) => t.typeId).sort((a, b) => a - b)).toEqual([2, 280]);

    const other = hs.state.findBy('companies', 'xb_account_id', 'xb-1')!;
    await client.crm.associations.v4.batchApi.create('companies', 'contacts', {
      inputs: [{ _from: { id: other.id }, to: { id: contact.id }, types: [{ associationCategory: 'HUBSPOT_DEFINED' as never, associationTypeId: 280 }] }],
    });
    const read = await client.crm.associations.v4.batchApi.getPage('contacts', 'companies', { inputs: [{ id: contact.id }] });
    expect(read.results[0]!.to.map((t) => String(t.toObjectId)).sort()).toEqual([company.id, other.id].sort());

    const v3 = await client.crm.associations.batchApi.read('companies', 'contacts', { inputs: [{ id: other.id }] });
    expect(v3.results[0]!.to.map((t) => t.id)).toEqual([contact.id]);

    const withAssoc = await client.crm.companies.basicApi.getById(company.id, ['name'], undefined, ['contacts']);
    expect(withAssoc.associations?.contacts?.results.map((r) => r.id)).toContain(contact.id);

    await client.crm.associations.v4.basicApi.archive('contacts', contact.id, 'companies', company.id);
    expect(hs.state.associationsOf('companies', company.id, 'contacts')).toEqual([]);
  });
});

describe('HubSpot emulator: seed file and dump', () => {
  it('loads a JSON seed file and dumps JSON-serialisable state', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hs-seed-'));
    const file = path.join(dir, 'seed.json');
    await writeFile(file, JSON.stringify({ companies: [{ id: '77', properties: { name: 'From file', domain: 'file.example' } }], tokens: ['pat-file'] }));
    const emu = await start({ seed: file });
    try {
      const c = new Client({ accessToken: 'pat-file', basePath: emu.url });
      const got = await c.crm.companies.basicApi.getById('77');
      expect(got.properties.name).toBe('From file');
      const dump = JSON.parse(JSON.stringify(emu.dump())) as { companies: Array<{ id: string }> };
      expect(dump.companies.map((x) => x.id)).toEqual(['77']);
      expect(emu.calls('companies-get')).toBe(1);
    } finally {
      await emu.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
