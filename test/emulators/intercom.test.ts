import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Intercom, IntercomClient, IntercomError } from 'intercom-client';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { start, DEFAULT_INTERCOM_TOKEN, type IntercomEmulator } from '../../src/emulators/intercom/index.js';

/** Contract suite: the real intercom-client 7 against the emulator. */

let ic: IntercomEmulator;
let client: IntercomClient;

async function failure(p: Promise<unknown>): Promise<IntercomError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof IntercomError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}
const errorsOf = (err: IntercomError) => (err.body as { type: string; errors: Array<{ code: string; message: string }> }).errors;

beforeAll(async () => {
  ic = await start({
    seedData: {
      dataAttributes: [
        { name: 'xb_partner', model: 'contact', data_type: 'string' },
        { name: 'xb_overlap_count', model: 'contact', data_type: 'integer' },
        { name: 'xb_partner_status', model: 'company', data_type: 'string' },
      ],
      contacts: Array.from({ length: 7 }, (_, i) => ({ email: `seed${i}@acme.example`, name: `Seed ${i}`, custom_attributes: { xb_partner: i % 2 ? 'Globex' : 'Initech' } })),
    },
    rateLimit: { limit: 1000, windowMs: 1000 },
  });
  client = new IntercomClient({ token: DEFAULT_INTERCOM_TOKEN, baseUrl: ic.url, maxRetries: 0 });
});

afterAll(async () => {
  await ic.stop();
});

describe('Intercom emulator: auth and headers', () => {
  it('rejects a wrong token with 401 unauthorized (no retry)', async () => {
    const bad = new IntercomClient({ token: 'nope', baseUrl: ic.url });
    const before = ic.calls('contacts-list');
    const err = await failure(bad.contacts.list());
    expect(err.statusCode).toBe(401);
    expect(errorsOf(err)[0]).toMatchObject({ code: 'unauthorized' });
    expect(ic.calls('contacts-list') - before).toBe(1);
  });

  it('sends X-RateLimit headers and accepts the v7 default Intercom-Version', async () => {
    const { rawResponse } = await client.contacts.find({ contact_id: ic.state.contactByEmail('seed0@acme.example')!.id }).withRawResponse();
    expect(rawResponse.headers.get('x-ratelimit-limit')).toBe('1000');
    expect(Number(rawResponse.headers.get('x-ratelimit-remaining'))).toBeLessThan(1000);
    expect(Number(rawResponse.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));
  });
});

describe('Intercom emulator: contacts', () => {
  it('creates, updates custom attributes, refuses duplicates and undefined attributes', async () => {
    const created = await client.contacts.create({ email: 'ada@lovelace.example', name: 'Ada', custom_attributes: { xb_partner: 'Acme' } });
    expect(created).toMatchObject({ type: 'contact', email: 'ada@lovelace.example', role: 'user', custom_attributes: { xb_partner: 'Acme' } });
    const dup = await failure(client.contacts.create({ email: 'ADA@lovelace.example' }));
    expect(dup.statusCode).toBe(409);
    expect(errorsOf(dup)[0]!.code).toBe('conflict');
    expect(errorsOf(dup)[0]!.message).toContain(created.id);

    const updated = await client.contacts.update({ contact_id: created.id, custom_attributes: { xb_overlap_count: 3 } });
    expect(updated.custom_attributes).toEqual({ xb_partner: 'Acme', xb_overlap_count: 3 });

    const undefinedAttr = await failure(client.contacts.update({ contact_id: created.id, custom_attributes: { xb_not_defined: 'x', xb_other: 1 } }));
    expect(undefinedAttr.statusCode).toBe(400);
    expect((undefinedAttr.body as { type: string }).type).toBe('error.list');
    expect(errorsOf(undefinedAttr).map((e) => e.message)).toEqual(["Custom attribute 'xb_not_defined' does not exist", "Custom attribute 'xb_other' does not exist"]);
    const wrongType = await failure(client.contacts.update({ contact_id: created.id, custom_attributes: { xb_overlap_count: 'many' } }));
    expect(wrongType.statusCode).toBe(400);
    expect(ic.state.contacts.get(created.id)!.custom_attributes.xb_overlap_count).toBe(3);

    const other = await client.contacts.create({ email: 'other@lovelace.example' });
    const clash = await failure(client.contacts.update({ contact_id: other.id, email: 'ada@lovelace.example' }));
    expect(clash.statusCode).toBe(409);
  });

  it('archives, unarchives, deletes; archived contacts leave search and list', async () => {
    const c = await client.contacts.create({ email: 'temp@lovelace.example' });
    const archived = await client.contacts.archive({ contact_id: c.id });
    expect(archived).toMatchObject({ id: c.id, archived: true });
    const search = await client.contacts.search({ query: { field: 'email', operator: '=', value: 'temp@lovelace.example' } });
    expect(search.data).toHaveLength(0);
    expect((await client.contacts.unarchive({ contact_id: c.id })).archived).toBe(false);
    const deleted = await client.contacts.delete({ contact_id: c.id });
    expect(deleted).toMatchObject({ id: c.id, deleted: true });
    const gone = await failure(client.contacts.find({ contact_id: c.id }));
    expect(gone.statusCode).toBe(404);
  });

  it('searches with nested AND/OR and pages with per_page + starting_after through the SDK iterator', async () => {
    const byEmail: Intercom.SingleFilterSearchRequest = { field: 'email', operator: '$', value: '@acme.example' };
    const partnerOrName: Intercom.MultipleFilterSearchRequest = {
      operator: 'OR',
      value: [{ field: 'custom_attributes.xb_partner', operator: '=', value: 'Globex' }, { field: 'name', operator: '=', value: 'Seed 0' }],
    };
    // Intercom takes a group that mixes filters and sub-groups; intercom-client types a group's value as one kind only.
    const mixed = [byEmail, partnerOrName] as Intercom.SingleFilterSearchRequest[];
    const page = await client.contacts.search({
      query: { operator: 'AND', value: mixed },
      pagination: { per_page: 2 },
    });
    expect(page.data).toHaveLength(2);
    expect(page.response.total_count).toBe(4);
    expect(page.response.pages?.next?.starting_after).toBeTruthy();
    const all: string[] = [];
    for await (const c of page) all.push(c.email!);
    expect(all.sort()).toEqual(['seed0@acme.example', 'seed1@acme.example', 'seed3@acme.example', 'seed5@acme.example']);
    expect(ic.requests.filter((r) => r.route === 'contacts-search').length).toBeGreaterThanOrEqual(2);

    const list = await client.contacts.list({ per_page: 3 });
    const listed: string[] = [];
    for await (const c of list) listed.push(c.id);
    expect(listed.length).toBe([...ic.state.contacts.values()].filter((c) => !c.archived).length);
  });

  it('compares timestamps by day as Intercom documents', async () => {
    const day = 86_400;
    const email = 'seed2@acme.example';
    const c = ic.state.contactByEmail(email)!;
    c.updated_at = 20_000 * day + 3600 * 10;
    const sameDayLater = await client.contacts.search({ query: { operator: 'AND', value: [{ field: 'updated_at', operator: '>', value: 20_000 * day + 3600 }, { field: 'email', operator: '=', value: email }] } });
    expect(sameDayLater.data).toHaveLength(0);
    const dayBefore = await client.contacts.search({ query: { operator: 'AND', value: [{ field: 'updated_at', operator: '>', value: 19_999 * day + 3600 }, { field: 'email', operator: '=', value: email }] } });
    expect(dayBefore.data).toHaveLength(1);
  });

  it('refuses nesting deeper than two levels', async () => {
    const err = await failure(
      client.contacts.search({
        query: { operator: 'AND', value: [{ operator: 'OR', value: [{ operator: 'AND', value: [{ field: 'name', operator: '=', value: 'x' }] }] }] } as never,
      }),
    );
    expect(err.statusCode).toBe(400);
  });
});

describe('Intercom emulator: companies and data attributes', () => {
  it('upserts companies by company_id, updates by Intercom id, attaches contacts, lists and scrolls', async () => {
    const a = await client.companies.createOrUpdate({ company_id: 'acc-1', name: 'Acme', custom_attributes: { xb_partner_status: 'customer' } });
    const again = await client.companies.createOrUpdate({ company_id: 'acc-1', website: 'https://acme.example' });
    expect(again.id).toBe(a.id);
    expect(again).toMatchObject({ name: 'Acme', website: 'https://acme.example', custom_attributes: { xb_partner_status: 'customer' } });
    const bad = await failure(client.companies.createOrUpdate({ company_id: 'acc-2', custom_attributes: { nope: 1 } }));
    expect(bad.statusCode).toBe(400);
    expect(errorsOf(bad)[0]!.message).toBe("Custom attribute 'nope' does not exist");
    expect(ic.state.companyByCompanyId('acc-2')).toBeUndefined();

    const renamed = await client.companies.update({ company_id: a.id, body: { name: 'Acme Corp' } });
    expect(renamed.name).toBe('Acme Corp');
    const byExternal = await client.companies.retrieve({ company_id: 'acc-1' });
    expect((byExternal as { id: string }).id).toBe(a.id);

    const contact = ic.state.contactByEmail('seed1@acme.example')!;
    const attached = await client.companies.attachContact({ contact_id: contact.id, id: a.id });
    expect(attached.user_count).toBe(1);
    const found = await client.contacts.find({ contact_id: contact.id });
    expect(found.companies?.data?.map((x) => x.id)).toEqual([a.id]);
    const missing = await failure(client.companies.attachContact({ contact_id: contact.id, id: 'does-not-exist' }));
    expect(missing.statusCode).toBe(404);

    for (let i = 0; i < 20; i++) await client.companies.createOrUpdate({ company_id: `bulk-${i}`, name: `Bulk ${i}` });
    const listed: string[] = [];
    for await (const co of await client.companies.list({ per_page: 7 })) listed.push(co.company_id!);
    expect(listed).toHaveLength(21);
    const scrolled: string[] = [];
    for await (const co of await client.companies.scroll()) scrolled.push(co.id!);
    expect(new Set(scrolled).size).toBe(21);
  });

  it('lists and creates data attributes; a duplicate is a 400 error.list', async () => {
    const list = await client.dataAttributes.list({ model: 'contact' });
    expect(list.data?.some((d) => d.name === 'xb_partner' && d.custom && d.full_name === 'custom_attributes.xb_partner')).toBe(true);
    expect(list.data?.every((d) => d.model === 'contact')).toBe(true);
    // v7.0.3 types CreateDataAttributeRequest without name/model; the JSON goes through unchanged.
    const created = await client.dataAttributes.create({ name: 'xb_tier', model: 'company', data_type: 'string' } as never);
    expect(created).toMatchObject({ type: 'data_attribute', name: 'xb_tier', model: 'company', custom: true });
    const dup = await failure(client.dataAttributes.create({ name: 'xb_tier', model: 'company', data_type: 'string' } as never));
    expect(dup.statusCode).toBe(400);
    expect(errorsOf(dup)[0]!.code).toBe('parameter_invalid');
    const co = await client.companies.createOrUpdate({ company_id: 'acc-9', custom_attributes: { xb_tier: 'gold' } });
    expect(co.custom_attributes).toEqual({ xb_tier: 'gold' });
  });
});

describe('Intercom emulator: rate limits and faults', () => {
  let emu: IntercomEmulator | undefined;
  afterEach(async () => {
    await emu?.stop();
    emu = undefined;
  });

  it("answers 429 rate_limit_exceeded with X-RateLimit-Reset, which the v7 client's retry waits for", async () => {
    emu = await start({ rateLimit: { limit: 2, windowMs: 600 } });
    const c = new IntercomClient({ token: DEFAULT_INTERCOM_TOKEN, baseUrl: emu.url, maxRetries: 0 });
    await c.dataAttributes.list();
    await c.dataAttributes.list();
    const err = await failure(c.dataAttributes.list());
    expect(err.statusCode).toBe(429);
    expect(errorsOf(err)[0]!.code).toBe('rate_limit_exceeded');
    expect(err.rawResponse?.headers.get('x-ratelimit-remaining')).toBe('0');
    const reset = Number(err.rawResponse?.headers.get('x-ratelimit-reset'));
    expect(reset * 1000).toBeGreaterThan(Date.now() - 1000);

    const retrying = new IntercomClient({ token: DEFAULT_INTERCOM_TOKEN, baseUrl: emu.url, maxRetries: 2 });
    const list = await retrying.dataAttributes.list();
    expect(list.type).toBe('list');
    expect(emu.requests.map((r) => r.status).filter((s) => s === 429).length).toBeGreaterThanOrEqual(1);
  });

  it('retries an injected 429 and 503 on POST /companies without creating duplicates', async () => {
    emu = await start({ faults: '429:x1@companies-create-or-update,503:x1@companies-create-or-update', faultSeed: 7 });
    const c = new IntercomClient({ token: DEFAULT_INTERCOM_TOKEN, baseUrl: emu.url, maxRetries: 2 });
    const co = await c.companies.createOrUpdate({ company_id: 'retry-1', name: 'Retry' });
    expect(co.company_id).toBe('retry-1');
    expect(emu.requests.map((r) => r.status)).toEqual([429, 503, 200]);
    expect(emu.state.companies.size).toBe(1);
  });

  it('loads a seed file and dumps state', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ic-seed-'));
    const file = path.join(dir, 'seed.json');
    await writeFile(file, JSON.stringify({ companies: [{ company_id: 'f-1', name: 'File Co' }], contacts: [{ email: 'f@file.example', companies: ['f-1'] }], tokens: ['tok-file'] }));
    try {
      emu = await start({ seed: file });
      const c = new IntercomClient({ token: 'tok-file', baseUrl: emu.url });
      const co = await c.companies.retrieve({ company_id: 'f-1' });
      expect((co as { user_count: number }).user_count).toBe(1);
      const dump = JSON.parse(JSON.stringify(emu.dump())) as { contacts: Array<{ email: string }> };
      expect(dump.contacts.map((x) => x.email)).toEqual(['f@file.example']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('Intercom emulator: version header', () => {
  it('accepts the versions the SDK can send and refuses an unknown one', async () => {
    const v211 = new IntercomClient({ token: DEFAULT_INTERCOM_TOKEN, baseUrl: ic.url, version: '2.11' });
    expect((await v211.dataAttributes.list({ model: 'company' })).type).toBe('list');
    const res = await fetch(`${ic.url}/data_attributes`, { headers: { authorization: `Bearer ${DEFAULT_INTERCOM_TOKEN}`, 'intercom-version': '9.9' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('intercom_version_invalid');
  });
});
