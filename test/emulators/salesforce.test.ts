import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import jsforce from 'jsforce';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_CLIENT, DEFAULT_USER, start, type SalesforceEmulator } from '../../src/emulators/salesforce/index.js';
import { idChecksum, makeId, normalizeId } from '../../src/emulators/salesforce/salesforce-ids.js';

/** Contract suite: the real jsforce 3 client against the Salesforce emulator. */

type Conn = InstanceType<typeof jsforce.Connection>;
type AnyRec = Record<string, any>;
/** A Bulk API 2.0 result row: the job's CSV columns plus sf__ ones (jsforce types it without the columns). */
type BulkRow = { sf__Id: string; Crossbeam_Id__c?: string; sf__Created?: string };

let sf: SalesforceEmulator;
let conn: Conn;

async function rejection(p: PromiseLike<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

function connect(url: string, extra: Record<string, unknown> = {}): Conn {
  return new jsforce.Connection({
    loginUrl: url,
    instanceUrl: url,
    version: '59.0',
    oauth2: { ...DEFAULT_CLIENT, loginUrl: url },
    ...extra,
  });
}

const T0 = Date.parse('2024-03-01T12:00:00Z');

beforeAll(async () => {
  sf = await start({
    seedData: {
      fields: {
        Account: [
          { name: 'Crossbeam_Id__c', type: 'string', externalId: true, unique: true, length: 40 },
          { name: 'Partner_Key__c', type: 'string', externalId: true },
          { name: 'Is_Partner__c', type: 'boolean' },
          { name: 'Overlap_Score__c', type: 'double' },
        ],
      },
      Account: [
        { Name: 'Acme', Website: 'acme.example', Crossbeam_Id__c: 'xb-1', Partner_Key__c: 'dup', Is_Partner__c: true, NumberOfEmployees: 500, Overlap_Score__c: 0.9, CreatedDate: '2024-01-01T00:00:00.000+0000', SystemModstamp: '2024-01-05T00:00:00.000+0000' },
        { Name: 'Globex', Website: 'globex.example', Crossbeam_Id__c: 'xb-2', Partner_Key__c: 'dup', Is_Partner__c: false, NumberOfEmployees: 50, CreatedDate: '2024-02-01T00:00:00.000+0000', SystemModstamp: '2024-02-05T00:00:00.000+0000' },
        { Name: 'initech', Website: null, Crossbeam_Id__c: 'xb-3', Is_Partner__c: false, NumberOfEmployees: 120, CreatedDate: '2024-02-10T00:00:00.000+0000', SystemModstamp: '2024-02-15T00:00:00.000+0000' },
      ],
      Signal__c: Array.from({ length: 2100 }, (_, i) => ({ Name: `sig-${i}`, Rank__c: i })),
    },
  });
  conn = connect(sf.url);
  await conn.login(DEFAULT_USER.username, DEFAULT_USER.password);
  conn.bulk2.pollInterval = 20;
});

afterAll(async () => {
  await sf?.stop();
});

describe('record ids', () => {
  it('uses the real 18-character checksum and key prefixes', () => {
    // A well-known 15/18-character pair from Salesforce's documentation and forums.
    expect(idChecksum('001D000000IqhSL')).toBe('IAZ');
    expect(normalizeId('001D000000IqhSL')).toBe('001D000000IqhSLIAZ');
    expect(normalizeId('001D000000IqhSLiaz')).toBe('001D000000IqhSLIAZ');
    expect(makeId('003', 62)).toMatch(/^003Ps000000001[0-9A-Za-z]{4}$/);
    expect(normalizeId('not-an-id')).toBeUndefined();
  });
});

describe('OAuth2 and identity', () => {
  it('logs in with the password grant and returns the org and user ids', async () => {
    const c = connect(sf.url);
    const info = await c.login(DEFAULT_USER.username, DEFAULT_USER.password);
    expect(info.organizationId).toBe(sf.state.orgId);
    expect(info.id).toMatch(/^005[A-Za-z0-9]{15}$/);
    expect(c.instanceUrl).toBe(sf.url);
    const identity = await c.identity();
    expect(identity.username).toBe(DEFAULT_USER.username);
  });

  it('rejects a wrong password and an unknown client the way Salesforce does', async () => {
    const bad = await rejection(connect(sf.url).login(DEFAULT_USER.username, 'nope'));
    expect(bad.name).toBe('invalid_grant');
    expect(bad.message).toBe('authentication failure');
    const c = new jsforce.Connection({ loginUrl: sf.url, version: '59.0', oauth2: { clientId: 'x', clientSecret: 'y', loginUrl: sf.url } });
    expect((await rejection(c.login(DEFAULT_USER.username, DEFAULT_USER.password))).name).toBe('invalid_client_id');
  });

  it('answers an expired session with 401 INVALID_SESSION_ID, which jsforce refreshes by logging in again', async () => {
    const c = connect(sf.url);
    await c.login(DEFAULT_USER.username, DEFAULT_USER.password);
    const before = sf.calls('oauth-token');
    const oldToken = c.accessToken;
    sf.state.expireTokens();
    const res = await c.query('SELECT Id FROM Account LIMIT 1');
    expect(res.records).toHaveLength(1);
    expect(sf.calls('oauth-token')).toBe(before + 1);
    expect(c.accessToken).not.toBe(oldToken);
    expect(sf.requests.some((r) => r.route === 'query' && r.status === 401)).toBe(true);
  });

  it('uses the refresh_token grant when the connection holds a refresh token', async () => {
    const refreshToken = sf.state.issueRefreshToken();
    const c = connect(sf.url, { accessToken: 'stale-token', refreshToken });
    let refreshed: string | undefined;
    c.on('refresh', (token: string) => (refreshed = token));
    const res = await c.query('SELECT Id FROM Account LIMIT 1');
    expect(res.totalSize).toBe(1);
    expect(refreshed).toBe(c.accessToken);
    const first = c.accessToken;
    sf.state.expireTokens();
    await c.query('SELECT Id FROM Account LIMIT 1');
    expect(c.accessToken).not.toBe(first);
    expect(refreshed).toBe(c.accessToken);
  });

  it('fails without a refresh path when the token is bad', async () => {
    const c = new jsforce.Connection({ instanceUrl: sf.url, accessToken: 'bogus', version: '59.0' });
    const err = await rejection(c.query('SELECT Id FROM Account'));
    expect(err.errorCode).toBe('INVALID_SESSION_ID');
  });
});

describe('SOQL', () => {
  const names = async (soql: string) => (await conn.query<AnyRec>(soql)).records.map((r) => r.Name);

  it('filters with =, !=, <, >, <=, >=, IN, LIKE, AND/OR and parentheses', async () => {
    expect(await names("SELECT Name FROM Account WHERE Name = 'ACME'")).toEqual(['Acme']);
    expect(await names("SELECT Name FROM Account WHERE Name != 'Acme' ORDER BY Name")).toEqual(['Globex', 'initech']);
    expect(await names('SELECT Name FROM Account WHERE NumberOfEmployees > 100 ORDER BY NumberOfEmployees DESC')).toEqual(['Acme', 'initech']);
    expect(await names('SELECT Name FROM Account WHERE NumberOfEmployees <= 120 AND NumberOfEmployees >= 50 ORDER BY Name')).toEqual(['Globex', 'initech']);
    expect(await names("SELECT Name FROM Account WHERE Crossbeam_Id__c IN ('xb-1', 'xb-3') ORDER BY Name")).toEqual(['Acme', 'initech']);
    expect(await names("SELECT Name FROM Account WHERE Name LIKE 'g%'")).toEqual(['Globex']);
    expect(await names("SELECT Name FROM Account WHERE (Name = 'Acme' OR Name = 'Globex') AND Is_Partner__c = false")).toEqual(['Globex']);
    expect(await names('SELECT Name FROM Account WHERE Website = null')).toEqual(['initech']);
    expect(await names("SELECT Name FROM Account WHERE NOT Name LIKE '%e%' ")).toEqual([]);
    expect(await names('SELECT Name FROM Account WHERE Overlap_Score__c < 1')).toEqual(['Acme']);
  });

  it('compares datetimes including the emulator-maintained SystemModstamp and CreatedDate', async () => {
    expect(await names('SELECT Name FROM Account WHERE SystemModstamp > 2024-02-01T00:00:00Z ORDER BY SystemModstamp')).toEqual(['Globex', 'initech']);
    expect(await names('SELECT Name FROM Account WHERE CreatedDate < 2024-01-15T00:00:00.000+0000')).toEqual(['Acme']);
    const err = await rejection(conn.query("SELECT Id FROM Account WHERE CreatedDate > '2024-01-01'"));
    expect(err.errorCode).toBe('INVALID_FIELD');
  });

  it('orders by several fields, applies LIMIT and returns attributes and parent fields', async () => {
    expect(await names('SELECT Name FROM Account ORDER BY Is_Partner__c DESC, Name ASC LIMIT 2')).toEqual(['Acme', 'Globex']);
    const acme = (await conn.query<AnyRec>("SELECT Id FROM Account WHERE Name = 'Acme'")).records[0]!;
    await conn.sobject('Contact').create({ LastName: 'Lovelace', Email: 'ada@acme.example', AccountId: acme.Id });
    const res = await conn.query<AnyRec>("SELECT Name, Account.Name, Account.Website FROM Contact WHERE Account.Name = 'Acme'");
    expect(res.records[0]).toMatchObject({ attributes: { type: 'Contact' }, Name: 'Lovelace', Account: { attributes: { type: 'Account' }, Name: 'Acme', Website: 'acme.example' } });
    expect((await conn.query('SELECT COUNT() FROM Account')).totalSize).toBe(3);
  });

  it('answers an unknown field or object with the real error codes', async () => {
    const err = await rejection(conn.query('SELECT Id, Nope__c FROM Account'));
    expect(err.errorCode).toBe('INVALID_FIELD');
    expect(err.message).toContain("No such column 'Nope__c' on entity 'Account'");
    expect(err.message).toContain('ERROR at Row:1:Column:12');
    expect((await rejection(conn.query('SELECT Id FROM Nope__c'))).errorCode).toBe('INVALID_TYPE');
    expect((await rejection(conn.query('SELECT FROM Account'))).errorCode).toBe('MALFORMED_QUERY');
  });

  it('pages with queryMore: 2000 by default, Sforce-Query-Options batchSize when asked', async () => {
    const first = await conn.query<AnyRec>('SELECT Name, Rank__c FROM Signal__c ORDER BY Rank__c');
    expect(first.records).toHaveLength(2000);
    expect(first.done).toBe(false);
    expect(first.totalSize).toBe(2100);
    expect(first.nextRecordsUrl).toMatch(/\/services\/data\/v59\.0\/query\/[A-Za-z0-9]+-2000$/);
    const second = await conn.queryMore<AnyRec>(first.nextRecordsUrl!);
    expect(second.done).toBe(true);
    expect(second.records.map((r) => r.Rank__c)).toEqual(Array.from({ length: 100 }, (_, i) => 2000 + i));

    const small = await conn.query<AnyRec>('SELECT Id FROM Signal__c WHERE Rank__c < 450', { headers: { 'Sforce-Query-Options': 'batchSize=200' } });
    expect(small.records).toHaveLength(200);
    const all = await conn.query<AnyRec>('SELECT Id FROM Signal__c WHERE Rank__c < 450', { headers: { 'Sforce-Query-Options': 'batchSize=200' }, autoFetch: true, maxFetch: 10_000 });
    expect(new Set(all.records.map((r) => r.Id)).size).toBe(450);
    expect(sf.calls('query-more')).toBeGreaterThanOrEqual(3);
    expect((await rejection(conn.queryMore('/services/data/v59.0/query/01gBOGUS-200'))).errorCode).toBe('INVALID_QUERY_LOCATOR');
  });

  it('keeps deleted records as tombstones that only queryAll returns', async () => {
    const created = await conn.sobject('Account').create({ Name: 'Doomed Corp' });
    await conn.sobject('Account').destroy(created.id!);
    expect(await names("SELECT Name FROM Account WHERE Name = 'Doomed Corp'")).toEqual([]);
    const all = await conn.query<AnyRec>("SELECT Name, IsDeleted FROM Account WHERE Name = 'Doomed Corp'", { scanAll: true });
    expect(all.records).toEqual([expect.objectContaining({ Name: 'Doomed Corp', IsDeleted: true })]);
    expect(sf.calls('query-all')).toBeGreaterThan(0);
  });
});

describe('describe', () => {
  it('lists objects and fields with custom, externalId and unique flags', async () => {
    const global = await conn.describeGlobal();
    expect(global.sobjects.map((s) => s.name)).toEqual(expect.arrayContaining(['Account', 'Contact', 'Opportunity', 'Signal__c']));
    sf.state.addField('Account', { name: 'Tier__c', type: 'picklist', picklistValues: ['Gold', 'Silver'] });
    const d = await conn.describe('Account');
    expect(d.keyPrefix).toBe('001');
    const byName = Object.fromEntries(d.fields.map((f) => [f.name, f]));
    expect(byName.Crossbeam_Id__c).toMatchObject({ custom: true, externalId: true, unique: true, type: 'string', length: 40, idLookup: true });
    expect(byName.Partner_Key__c).toMatchObject({ externalId: true, unique: false });
    expect(byName.Name).toMatchObject({ custom: false, nillable: false, createable: true });
    expect(byName.Tier__c?.picklistValues?.map((p) => p.value)).toEqual(['Gold', 'Silver']);
    expect(byName.SystemModstamp).toMatchObject({ type: 'datetime', createable: false, updateable: false });
    expect((await rejection(conn.describe('Nope__c'))).errorCode).toBe('NOT_FOUND');
  });
});

describe('sObject CRUD and upsert', () => {
  it('creates, retrieves, updates and deletes one record with 18-character ids', async () => {
    sf.state.now = () => new Date(T0);
    try {
      const res = await conn.sobject('Opportunity').create({ Name: 'Big deal', StageName: 'Prospecting', CloseDate: '2024-06-30', Amount: 12000 });
      expect(res.success).toBe(true);
      expect(res.id).toMatch(/^006[A-Za-z0-9]{15}$/);
      const got = (await conn.sobject('Opportunity').retrieve(res.id!)) as AnyRec;
      expect(got).toMatchObject({ Name: 'Big deal', Amount: 12000, IsClosed: false, CreatedDate: '2024-03-01T12:00:00.000+0000' });
      expect(((await conn.sobject('Opportunity').retrieve(res.id!.slice(0, 15))) as AnyRec).Id).toBe(res.id);

      sf.state.now = () => new Date(T0 + 60_000);
      const upd = await conn.sobject('Opportunity').update({ Id: res.id!, StageName: 'Closed Won' });
      expect(upd).toEqual({ id: res.id, success: true, errors: [] });
      const after = (await conn.sobject('Opportunity').retrieve(res.id!)) as AnyRec;
      expect(after).toMatchObject({ IsWon: true, SystemModstamp: '2024-03-01T12:01:00.000+0000', LastModifiedDate: '2024-03-01T12:01:00.000+0000', CreatedDate: '2024-03-01T12:00:00.000+0000' });

      await conn.sobject('Opportunity').destroy(res.id!);
      expect((await rejection(conn.sobject('Opportunity').retrieve(res.id!))).errorCode).toBe('NOT_FOUND');
      expect(sf.state.dump().Opportunity!.find((r) => r.Id === res.id)).toMatchObject({ IsDeleted: true });
    } finally {
      sf.state.now = () => new Date();
    }
  });

  it('reports required, unknown, read-only and wrongly typed fields', async () => {
    const missing = await rejection(conn.sobject('Account').create({ Website: 'x.example' }));
    expect(missing.errorCode).toBe('REQUIRED_FIELD_MISSING');
    expect(missing.data.fields).toEqual(['Name']);
    expect((await rejection(conn.sobject('Account').create({ Name: 'A', Bogus__c: 1 }))).errorCode).toBe('INVALID_FIELD');
    expect((await rejection(conn.sobject('Account').create({ Name: 'A', CreatedDate: '2020-01-01T00:00:00Z' }))).errorCode).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');
    expect((await rejection(conn.sobject('Account').create({ Name: 'A', NumberOfEmployees: 'many' }))).errorCode).toBe('INVALID_TYPE_ON_FIELD_IN_RECORD');
    expect((await rejection(conn.sobject('Account').create({ Name: 'x'.repeat(256) }))).errorCode).toBe('STRING_TOO_LONG');
    expect((await rejection(conn.sobject('Account').create({ Name: 'A', Crossbeam_Id__c: 'xb-1' }))).errorCode).toBe('DUPLICATE_VALUE');
  });

  it('upserts one record by external id: 201 created, 200 updated, 300 when the key is not unique', async () => {
    const created = await conn.sobject('Account').upsert({ Crossbeam_Id__c: 'xb-new', Name: 'Hooli' }, 'Crossbeam_Id__c');
    expect(created).toMatchObject({ success: true, created: true });
    expect(created.id).toMatch(/^001/);
    const updated = await conn.sobject('Account').upsert({ Crossbeam_Id__c: 'XB-NEW', Website: 'hooli.example' }, 'Crossbeam_Id__c');
    expect(updated).toMatchObject({ id: created.id, success: true, created: false });
    expect(sf.requests.filter((r) => r.route === 'sobject-upsert').map((r) => r.status).slice(-2)).toEqual([201, 200]);
    const dup = await rejection(conn.sobject('Account').upsert({ Partner_Key__c: 'dup', Name: 'X' }, 'Partner_Key__c'));
    expect(dup.errorCode).toBe('MULTIPLE_CHOICES');
    expect(dup.data).toHaveLength(2);
    expect(sf.requests.at(-1)).toMatchObject({ route: 'sobject-upsert', status: 300 });
    expect((await rejection(conn.sobject('Account').upsert({ Nope__c: 'a', Name: 'X' }, 'Nope__c'))).errorCode).toBe('NOT_FOUND');
  });
});

describe('sObject Collections', () => {
  it('retrieves and deletes many records by id', async () => {
    const made = await conn.sobject('Contact').create([{ LastName: 'R1' }, { LastName: 'R2' }]);
    const ids = made.map((r) => r.id!);
    const got = (await conn.sobject('Contact').retrieve([ids[0]!, '003Ps0000000ZZZAAA', ids[1]!], { fields: ['LastName'] })) as Array<AnyRec | null>;
    expect(got.map((r) => r?.LastName ?? null)).toEqual(['R1', null, 'R2']);
    const del = await conn.sobject('Contact').destroy([...ids, ids[0]!]);
    expect(del.map((r) => r.success)).toEqual([true, true, false]);
    expect((del[2] as AnyRec).errors[0].statusCode).toBe('ENTITY_IS_DELETED');
    expect(sf.calls('collections-delete')).toBe(1);
  });

  it('creates and updates many records with per-record results', async () => {
    const [creates, updates] = [sf.calls('collections-create'), sf.calls('collections-update')];
    const res = await conn.sobject('Contact').create([{ LastName: 'One' }, { FirstName: 'NoLast' }, { LastName: 'Two', Email: 'not-an-email' }]);
    expect(res[0]).toMatchObject({ success: true });
    expect(res[1]).toEqual({ success: false, errors: [{ statusCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [LastName]', fields: ['LastName'] }] });
    expect(res[2]!.success).toBe(false);
    const upd = await conn.sobject('Contact').update([{ Id: res[0]!.id!, Title: 'CTO' }, { Id: '003Ps0000000ZZZAAA', Title: 'x' }]);
    expect(upd[0]).toEqual({ id: res[0]!.id, success: true, errors: [] });
    expect(upd[1]!.success).toBe(false);
    expect(sf.calls('collections-create')).toBe(creates + 1);
    expect(sf.calls('collections-update')).toBe(updates + 1);
  });

  it('upserts a collection by external id with per-record errors and created flags', async () => {
    const res = await conn.sobject('Account').upsert(
      [
        { Crossbeam_Id__c: 'xb-1', Industry: 'Software' },
        { Crossbeam_Id__c: 'xb-c1', Name: 'Coll One' },
        { Crossbeam_Id__c: 'xb-c2' },
      ],
      'Crossbeam_Id__c',
    );
    expect(res[0]).toMatchObject({ success: true, created: false });
    expect(res[1]).toMatchObject({ success: true, created: true });
    expect(res[2]).toMatchObject({ success: false, errors: [{ statusCode: 'REQUIRED_FIELD_MISSING' }] });
    expect(sf.state.list('Account').find((r) => r.Crossbeam_Id__c === 'xb-1')?.Industry).toBe('Software');

    const dup = await conn.sobject('Account').upsert([{ Partner_Key__c: 'dup', Name: 'X' }], 'Partner_Key__c');
    expect(dup[0]).toMatchObject({ success: false, errors: [{ statusCode: 'DUPLICATE_EXTERNAL_ID' }] });
  });

  it('rolls everything back with allOrNone when one record fails', async () => {
    const before = sf.state.list('Account').length;
    const res = await conn.sobject('Account').upsert([{ Crossbeam_Id__c: 'xb-aon1', Name: 'Fine' }, { Crossbeam_Id__c: 'xb-aon2' }], 'Crossbeam_Id__c', { allOrNone: true });
    expect(res.map((r) => r.success)).toEqual([false, false]);
    expect((res[0] as AnyRec).errors[0].statusCode).toBe('ALL_OR_NONE_OPERATION_ROLLED_BACK');
    expect((res[1] as AnyRec).errors[0].statusCode).toBe('REQUIRED_FIELD_MISSING');
    expect(sf.state.list('Account').length).toBe(before);
  });

  it('refuses more than 200 records in one call', async () => {
    const records = Array.from({ length: 201 }, (_, i) => ({ Crossbeam_Id__c: `xb-many-${i}`, Name: `Many ${i}` }));
    const err = await rejection(conn.sobject('Account').upsert(records, 'Crossbeam_Id__c'));
    expect(err.errorCode).toBe('EXCEEDED_ID_LIMIT');
    expect(sf.requests.at(-1)).toMatchObject({ route: 'collections-upsert', status: 400 });
    const ok = await conn.sobject('Account').upsert(records.slice(0, 200), 'Crossbeam_Id__c');
    expect(ok.every((r) => r.success)).toBe(true);
  });

  it('injects UNABLE_TO_LOCK_ROW for chosen records', async () => {
    sf.state.injectRecordError({ object: 'Account', match: (r) => r.Crossbeam_Id__c === 'xb-lock-2' });
    const res = await conn.sobject('Account').upsert(
      [
        { Crossbeam_Id__c: 'xb-lock-1', Name: 'L1' },
        { Crossbeam_Id__c: 'xb-lock-2', Name: 'L2' },
      ],
      'Crossbeam_Id__c',
    );
    expect(res[0]!.success).toBe(true);
    expect(res[1]).toMatchObject({ success: false, errors: [{ statusCode: 'UNABLE_TO_LOCK_ROW' }] });
    const retry = await conn.sobject('Account').upsert([{ Crossbeam_Id__c: 'xb-lock-2', Name: 'L2' }], 'Crossbeam_Id__c');
    expect(retry[0]!.success).toBe(true);
  });
});

describe('Bulk API 2.0', () => {
  it('runs an upsert ingest job and reports successful and failed rows', async () => {
    const res = await conn.bulk2.loadAndWaitForResults({
      object: 'Account',
      operation: 'upsert',
      externalIdFieldName: 'Crossbeam_Id__c',
      input: [
        // jsforce takes the CSV header from the first record, so it carries every column.
        { Crossbeam_Id__c: 'xb-2', Name: 'Globex Corp', Website: null, NumberOfEmployees: 51 },
        { Crossbeam_Id__c: 'xb-b1', Name: 'Bulk One', NumberOfEmployees: 7 },
        { Crossbeam_Id__c: 'xb-b2', NumberOfEmployees: 3 },
        { Crossbeam_Id__c: 'xb-b3', Name: 'Bad Number', NumberOfEmployees: 'lots' },
      ],
      pollInterval: 20,
      pollTimeout: 5000,
    });
    expect(res.successfulResults.map((r: BulkRow) => [r.Crossbeam_Id__c, r.sf__Created])).toEqual([
      ['xb-2', 'false'],
      ['xb-b1', 'true'],
    ]);
    expect(res.successfulResults[1]!.sf__Id).toMatch(/^001/);
    expect(res.failedResults.map((r: BulkRow) => r.Crossbeam_Id__c)).toEqual(['xb-b2', 'xb-b3']);
    expect(res.failedResults[0]!.sf__Error).toBe('REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --');
    expect(res.unprocessedRecords).toEqual([]);
    const globex = sf.state.list('Account').find((r) => r.Crossbeam_Id__c === 'xb-2')!;
    expect(globex).toMatchObject({ Name: 'Globex Corp', Website: null });
    expect(sf.calls('bulk2-ingest-get')).toBeGreaterThanOrEqual(2);
    expect(sf.requests.some((r) => r.route === 'bulk2-ingest-get')).toBe(true);
  });

  it('runs insert and update jobs, refreshing an expired session on the way', async () => {
    sf.state.expireTokens();
    const logins = sf.calls('oauth-token');
    const ins = await conn.bulk2.loadAndWaitForResults({ object: 'Contact', operation: 'insert', input: [{ LastName: 'Bulk', Email: 'b@x.example' }], pollInterval: 20, pollTimeout: 5000 });
    const id = ins.successfulResults[0]!.sf__Id;
    const upd = await conn.bulk2.loadAndWaitForResults({ object: 'Contact', operation: 'update', input: [{ Id: id, Title: 'VP' }], pollInterval: 20, pollTimeout: 5000 });
    expect(upd.successfulResults[0]).toMatchObject({ sf__Id: id, sf__Created: 'false' });
    expect(sf.state.get('Contact', id)).toMatchObject({ LastName: 'Bulk', Title: 'VP' });
    expect(sf.calls('oauth-token')).toBe(logins + 1);
  });

  it('fails a job whose CSV names an unknown field and reports the rows as unprocessed', async () => {
    const job = conn.bulk2.createJob({ object: 'Account', operation: 'insert' });
    await job.open();
    await job.uploadData('Name,Nope__c\nA,1\nB,2\n');
    await job.close();
    const err = await rejection(job.poll(20, 5000));
    expect(err.message).toContain('InvalidBatch : Field name not found : Nope__c');
    const unprocessed = await job.getUnprocessedRecords();
    expect(unprocessed).toEqual([
      { Name: 'A', Nope__c: '1' },
      { Name: 'B', Nope__c: '2' },
    ]);
  });

  it('runs a query job and pages results with Sforce-Locator', async () => {
    const stream = await conn.bulk2.query('SELECT Name, Rank__c FROM Signal__c WHERE Rank__c < 5 ORDER BY Rank__c', { pollInterval: 20, pollTimeout: 5000 });
    const rows = (await stream.toArray()) as AnyRec[];
    expect(rows.map((r) => r.Name)).toEqual(['sig-0', 'sig-1', 'sig-2', 'sig-3', 'sig-4']);

    const job = (await conn.request({
      method: 'POST',
      url: '/services/data/v59.0/jobs/query',
      body: JSON.stringify({ operation: 'query', query: 'SELECT Id, Name FROM Signal__c WHERE Rank__c < 25' }),
      headers: { 'content-type': 'application/json' },
    })) as AnyRec;
    expect(job.state).toBe('UploadComplete');
    let info: AnyRec = job;
    while (info.state !== 'JobComplete') info = (await conn.request(`/services/data/v59.0/jobs/query/${job.id}`)) as AnyRec;
    const seen: string[] = [];
    let locator: string | null = '';
    while (locator !== 'null') {
      const res: Response = await fetch(`${sf.url}/services/data/v59.0/jobs/query/${job.id}/results?maxRecords=10${locator ? `&locator=${locator}` : ''}`, {
        headers: { authorization: `Bearer ${conn.accessToken}` },
      });
      expect(res.headers.get('content-type')).toBe('text/csv');
      const lines = (await res.text()).trim().split('\n');
      expect(lines[0]).toBe('"Id","Name"');
      seen.push(...lines.slice(1));
      locator = res.headers.get('sforce-locator');
    }
    expect(seen).toHaveLength(25);
  });
});

describe('limits', () => {
  it('reports usage in Sforce-Limit-Info and /limits, then answers REQUEST_LIMIT_EXCEEDED', async () => {
    const lim = await start({ dailyApiLimit: 5 });
    try {
      const c = connect(lim.url);
      await c.login(DEFAULT_USER.username, DEFAULT_USER.password);
      await c.query('SELECT Id FROM Account');
      expect(c.limitInfo.apiUsage).toEqual({ used: 1, limit: 5 });
      const l = await c.limits();
      expect(l.DailyApiRequests).toEqual({ Max: 5, Remaining: 3 });
      lim.state.setApiUsage(5);
      const err = await rejection(c.query('SELECT Id FROM Account'));
      expect(err.errorCode).toBe('REQUEST_LIMIT_EXCEEDED');
      expect(lim.requests.at(-1)).toMatchObject({ route: 'query', status: 403 });
    } finally {
      await lim.stop();
    }
  });
});

describe('faults, request log and seed file', () => {
  it('surfaces an injected 503 on PATCH and a reset as errors, and retries a GET', async () => {
    sf.faults.set('503:x1@collections-upsert');
    const err = await rejection(conn.sobject('Account').upsert([{ Crossbeam_Id__c: 'xb-f1', Name: 'F1' }], 'Crossbeam_Id__c'));
    expect(err.errorCode).toBe('SERVER_UNAVAILABLE');
    expect(sf.requests.at(-1)).toMatchObject({ route: 'collections-upsert', status: 503, fault: '503' });

    sf.faults.set('reset:x1@sobject-create');
    const reset = await rejection(conn.sobject('Account').create({ Name: 'Reset' }));
    expect(reset).toBeInstanceOf(Error);
    expect(sf.state.list('Account').some((r) => r.Name === 'Reset')).toBe(false);

    sf.faults.set('503:x1@describe');
    const before = sf.calls('describe');
    const d = await conn.describe('Contact');
    expect(d.name).toBe('Contact');
    expect(sf.calls('describe')).toBe(before + 2);
    sf.faults.clear();
  });

  it('loads a seed file and dumps records per object', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sf-seed-'));
    try {
      const file = path.join(dir, 'seed.json');
      await writeFile(file, JSON.stringify({ Account: [{ Name: 'From File', Ext__c: 'f-1' }], Contact: [{ LastName: 'Filed' }] }));
      const emu = await start({ seed: file });
      try {
        const dump = emu.dump() as Record<string, AnyRec[]>;
        expect(dump.Account).toEqual([expect.objectContaining({ Name: 'From File', Ext__c: 'f-1', IsDeleted: false })]);
        expect(dump.Contact![0]!.Id).toMatch(/^003[A-Za-z0-9]{15}$/);
      } finally {
        await emu.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
