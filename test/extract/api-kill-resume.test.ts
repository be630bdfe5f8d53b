import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_HUBSPOT_TOKEN, start as startHubspot } from '../../src/emulators/hubspot/index.js';
import { DEFAULT_CLIENT, DEFAULT_USER, start as startSalesforce } from '../../src/emulators/salesforce/index.js';
import { start as startSnowflake } from '../../src/emulators/snowflake/index.js';
import { cli, query, type Exit } from './cli-harness.js';
import { tmpDir } from './helpers.js';

/**
 * Crash safety of the API and warehouse sources end to end: the real CLI (bin/partnersync.js over
 * dist/, built by test/global-setup.ts) extracts from an emulator running in this process, is killed
 * with SIGKILL once some batches but not all are committed, and is run again. The raw table must then
 * hold exactly what the emulator holds (keys and values, each key once), including changes made at
 * the source between the two runs, and the re-run must resume where the killed one stopped.
 *
 * The extract loop commits at the first checkpoint after 2000 rows, so each source gets a few
 * thousand records, small pages, and a little latency per page so the kill lands mid-extract.
 */
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A temp folder with `partnersync.yaml`; staging is `staging.db` inside it. */
function project(prefix: string, config: string[]): { dir: string; dbFile: string } {
  const dir = tmpDir(prefix);
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'partnersync.yaml'), ['version: 1', 'staging:', '  url: sqlite:staging.db', 'connections:', ...config, ''].join('\n'));
  return { dir, dbFile: path.join(dir, 'staging.db') };
}

/** Rows committed to a raw table so far (0 while the file or the table does not exist yet). */
function rawCount(dbFile: string, table: string): number {
  if (!fs.existsSync(dbFile)) return 0;
  try {
    return query<{ n: number }>(dbFile, `SELECT count(*) AS n FROM ${table}`)[0]!.n;
  } catch {
    return 0;
  }
}

interface KillCase {
  dir: string;
  dbFile: string;
  args: string[];
  env: Record<string, string>;
  table: string;
  /** Records at the source when the killed run starts. */
  total: number;
}

/**
 * Run the extract, SIGKILL it as soon as a first batch is committed, and check the kill really landed
 * mid-extract: the killed run did not finish, and the raw table holds some rows but not all.
 */
async function killMidExtract(c: KillCase): Promise<{ atKill: number; killedAtMs: number }> {
  const { child, done } = cli(c.dir, c.args, c.env);
  let exited = false;
  void done.then(() => (exited = true));
  const deadline = Date.now() + 30_000;
  while (!exited && Date.now() < deadline && rawCount(c.dbFile, c.table) === 0) await new Promise((r) => setTimeout(r, 10));
  child.kill('SIGKILL');
  const killed = await done;
  expect(killed.signal, `the first run ended before the kill: ${killed.stderr}`).toBe('SIGKILL');
  const atKill = rawCount(c.dbFile, c.table);
  expect(atKill).toBeGreaterThan(0);
  expect(atKill).toBeLessThan(c.total);
  const runs = query<{ status: string }>(c.dbFile, "SELECT status FROM runs WHERE command = 'extract'");
  expect(runs.map((r) => r.status)).toEqual(['running']);
  return { atKill, killedAtMs: killed.ms };
}

/** Run the same extract again: it must succeed; returns the records it read, from its run log. */
async function rerun(c: KillCase, source: string): Promise<{ records: number; ms: number }> {
  const again = await cli(c.dir, c.args, c.env).done;
  expect(again.stderr).not.toMatch(/Unexpected error/);
  expect(again.code, again.stderr).toBe(0);
  const runs = query<{ status: string; counts: string }>(c.dbFile, "SELECT status, counts FROM runs WHERE command = 'extract' ORDER BY started_at");
  expect(runs.map((r) => r.status)).toEqual(['running', 'succeeded']);
  const counts = JSON.parse(runs[1]!.counts) as { extract: Record<string, { records: number }> };
  return { records: counts.extract[source]!.records, ms: again.ms };
}

/** Every key once, and the live rows equal the source's records (sorted by key). */
function expectSameRows(staged: Array<Record<string, unknown>>, source: Array<Record<string, unknown>>, key: string): void {
  const keys = staged.map((r) => String(r[key]));
  expect(new Set(keys).size).toBe(keys.length);
  const have = new Set(keys);
  const want = new Set(source.map((r) => String(r[key])));
  expect({ extra: keys.filter((k) => !want.has(k)), missing: [...want].filter((k) => !have.has(k)) }).toEqual({ extra: [], missing: [] });
  const byKey = (a: Record<string, unknown>, b: Record<string, unknown>) => (String(a[key]) < String(b[key]) ? -1 : String(a[key]) > String(b[key]) ? 1 : 0);
  const s = [...staged].sort(byKey);
  const w = [...source].sort(byKey);
  expect(s.length).toBe(w.length);
  // One readable failure instead of a multi-thousand-row diff.
  const firstDiff = s.findIndex((r, i) => JSON.stringify(r) !== JSON.stringify(w[i]));
  expect(firstDiff === -1 ? null : { staged: s[firstDiff], source: w[firstDiff] }).toBeNull();
}

const report = (name: string, m: Record<string, unknown>) => console.log(`[api-kill-resume] ${name}: ${JSON.stringify(m)}`);

/** Salesforce datetimes come as `…+0000` (REST) or `…Z` (Bulk): compare instants. */
const instant = (v: unknown) => (v === null || v === undefined ? null : Date.parse(String(v).replace(/([+-]\d\d)(\d\d)$/, '$1:$2')));
const text = (v: unknown) => (v === null || v === undefined ? null : String(v));

describe('kill -9 mid-extract of an API or warehouse source, then re-run', () => {
  /**
   * Accounts stamped three to a second in 2024, so pages and commits end in the middle of a
   * SystemModstamp and the resume has to continue by (SystemModstamp, Id).
   */
  async function salesforceOrg(total: number) {
    const base = Date.parse('2024-03-01T00:00:00Z');
    const sf = await startSalesforce({
      seedData: {
        Account: Array.from({ length: total }, (_, i) => ({
          Name: `Account ${i}`,
          Website: `https://account${i}.example`,
          NumberOfEmployees: (i * 37) % 5000,
          SystemModstamp: new Date(base + Math.floor(i / 3) * 1000).toISOString(),
        })),
      },
    });
    cleanups.push(() => sf.stop());
    return sf;
  }

  function salesforceProject(prefix: string, url: string, extra: string[]) {
    return project(prefix, [
      '  crm:',
      '    type: salesforce',
      `    loginUrl: ${url}`,
      `    clientId: ${DEFAULT_CLIENT.clientId}`,
      '    clientSecret: ${SF_CLIENT_SECRET}',
      `    username: ${DEFAULT_USER.username}`,
      '    password: ${SF_PASSWORD}',
      '    overlapMinutes: 0',
      ...extra.map((l) => `    ${l}`),
    ]);
  }
  const sfEnv = { SF_CLIENT_SECRET: DEFAULT_CLIENT.clientSecret, SF_PASSWORD: DEFAULT_USER.password };

  type SfOrg = Awaited<ReturnType<typeof salesforceOrg>>;
  /** Staged accounts: live ones against the org's live accounts, tombstones for its deleted ones. */
  function expectAccountsMatch(dbFile: string, sf: SfOrg): void {
    const rows = query(dbFile, 'SELECT id, name, website, numberofemployees, systemmodstamp, isdeleted, _deleted FROM raw_crm__accounts');
    const live = rows.filter((r) => r._deleted === 0);
    const shape = (r: Record<string, unknown>, k: (f: string) => unknown) => ({
      id: text(k('Id')),
      name: text(k('Name')),
      website: text(k('Website')),
      employees: text(k('NumberOfEmployees')),
      stamp: instant(k('SystemModstamp')),
    });
    expectSameRows(
      live.map((r) => shape(r, (f) => r[f.toLowerCase()])),
      sf.state.list('Account').map((a) => shape(a, (f) => a[f])),
      'id',
    );
    expect(live.every((r) => r.isdeleted === 'false')).toBe(true);
    const gone = sf.state.list('Account', true).filter((a) => a.IsDeleted).map((a) => String(a.Id)).sort();
    expect(rows.filter((r) => r._deleted === 1).map((r) => String(r.id)).sort()).toEqual(gone);
  }

  /** Between the runs: one staged account renamed, one deleted, one new; the re-run must apply all three. */
  function changeOrg(sf: SfOrg, dbFile: string): void {
    const staged = query<{ id: string }>(dbFile, 'SELECT id FROM raw_crm__accounts ORDER BY id LIMIT 2');
    expect(sf.state.update('Account', staged[0]!.id, { Name: 'Renamed while partnersync was down' }).success).toBe(true);
    expect(sf.state.remove('Account', staged[1]!.id).success).toBe(true);
    expect(sf.state.create('Account', { Name: 'Created while partnersync was down', Website: 'https://new.example' }).success).toBe(true);
  }

  it('salesforce accounts (REST query/queryMore): the raw table ends with exactly the org\'s accounts', async () => {
    const total = 6000;
    const sf = await salesforceOrg(total);
    // 200-row pages (30 queryMore calls), a little latency each so the kill lands mid-extract.
    sf.faults.set('latency:50@query-more');
    const { dir, dbFile } = salesforceProject('ps-sf-kill-', sf.url, [`bulkThreshold: ${total * 10}`, 'queryBatchSize: 200']);
    const c: KillCase = { dir, dbFile, args: ['extract', 'crm', 'accounts'], env: sfEnv, table: 'raw_crm__accounts', total };
    const { atKill, killedAtMs } = await killMidExtract(c);

    changeOrg(sf, dbFile);
    const queriesBefore = sf.calls('query') + sf.calls('query-all');
    const again = await rerun(c, 'crm/accounts');
    expectAccountsMatch(dbFile, sf);
    // The re-run went on from the committed (SystemModstamp, Id) with queryAll (tombstones): every
    // record after it once, plus the renamed and the new account; nothing committed was read again.
    expect(sf.calls('query-all')).toBeGreaterThan(0);
    expect(sf.calls('query') + sf.calls('query-all') - queriesBefore).toBe(2); // COUNT() and the page query
    expect(again.records).toBe(total - atKill + 2);
    report('salesforce REST', { total, atKill, rerunRecords: again.records, killedAtMs, rerunMs: again.ms });
  }, 60_000);

  it('salesforce accounts (Bulk API 2.0): the raw table ends with exactly the org\'s accounts', async () => {
    // A bulk job gives no checkpoint until its last row; the extract loop still commits every 20 000
    // buffered rows (without state) to bound memory, so the kill can land after such a commit.
    const total = 60_000;
    const sf = await salesforceOrg(total);
    // The job completes at the first status poll (jsforce would otherwise wait 2 s between polls);
    // its results come in 10 000-row pages (Sforce-Locator), each a little late.
    sf.state.bulkPollsToComplete = 1;
    sf.state.bulkQueryPageSize = 10_000;
    sf.faults.set('latency:100@bulk2-query-results');
    const { dir, dbFile } = salesforceProject('ps-sf-bulk-kill-', sf.url, ['bulkThreshold: 1000']);
    const c: KillCase = { dir, dbFile, args: ['extract', 'crm', 'accounts'], env: sfEnv, table: 'raw_crm__accounts', total };
    const { atKill, killedAtMs } = await killMidExtract(c);

    changeOrg(sf, dbFile);
    const again = await rerun(c, 'crm/accounts');
    expect(sf.calls('bulk2-query-create')).toBe(2);
    expectAccountsMatch(dbFile, sf);
    // A bulk job cannot resume halfway: the re-run read every live account again (upserts), and with
    // tombstones, since rows were already staged (the deleted account is checked above).
    expect(again.records).toBe(sf.state.list('Account').length);
    report('salesforce Bulk', { total, atKill, rerunRecords: again.records, killedAtMs, rerunMs: again.ms });
  }, 60_000);

  it('hubspot companies (list paging): the raw table ends with exactly the portal\'s companies', async () => {
    const total = 6000;
    const hs = await startHubspot({
      seedData: { companies: Array.from({ length: total }, (_, i) => ({ name: `Company ${i}`, domain: `company${i}.example`, numberofemployees: String((i * 37) % 5000) })) },
      rateLimit: { max: 100_000, intervalMs: 10_000 },
      // 100-company pages (60 list calls), a little latency each so the kill lands mid-extract.
      faults: 'latency:40@companies-list',
    });
    cleanups.push(() => hs.stop());
    const { dir, dbFile } = project('ps-hs-kill-', [
      '  hs:',
      '    type: hubspot',
      `    baseUrl: ${hs.url}`,
      '    accessToken: ${HS_TOKEN}',
      '    pageSize: 100',
      '    requestsPerTenSeconds: 10000',
    ]);
    const c: KillCase = { dir, dbFile, args: ['extract', 'hs', 'companies'], env: { HS_TOKEN: DEFAULT_HUBSPOT_TOKEN }, table: 'raw_hs__companies', total };
    const { atKill, killedAtMs } = await killMidExtract(c);

    // A company created meanwhile has the highest id: the resumed listing reaches it.
    hs.state.create('companies', { name: 'Created while partnersync was down', domain: 'new.example' });
    const listsBefore = hs.calls('companies-list');
    const again = await rerun(c, 'hs/companies');
    const rows = query(dbFile, 'SELECT id, name, domain, numberofemployees, hs_lastmodifieddate, _deleted FROM raw_hs__companies');
    expect(rows.every((r) => r._deleted === 0)).toBe(true);
    const shape = (id: unknown, p: (k: string) => unknown) => ({ id: text(id), name: text(p('name')), domain: text(p('domain')), employees: text(p('numberofemployees')), modified: instant(p('hs_lastmodifieddate')) });
    expectSameRows(
      rows.map((r) => shape(r.id, (k) => r[k])),
      hs.state.list('companies').map((o) => shape(o.id, (k) => o.properties[k])),
      'id',
    );
    // The re-run listed from the saved `after` on: only the pages not committed before the kill.
    expect(again.records).toBe(total + 1 - atKill);
    expect(hs.calls('companies-list') - listsBefore).toBe(Math.ceil((total + 1 - atKill) / 100));
    report('hubspot', { total, atKill, rerunRecords: again.records, killedAtMs, rerunMs: again.ms });
  }, 60_000);

  it('snowflake table (keyset paging by UPDATED_AT, ID): the raw table ends with exactly the table\'s rows', async () => {
    const total = 8000;
    // Three rows per UPDATED_AT and ids out of time order, so pages (and the commit the kill lands
    // after) end inside a tie and the keyset has to continue by (UPDATED_AT, ID).
    const rows = Array.from({ length: total }, (_, i) => {
      const id = ((i * 7919) % total) + 1;
      const at = new Date(Date.parse('2024-05-01T00:00:00Z') + Math.floor(i / 3) * 1000).toISOString().replace('T', ' ').replace('Z', '');
      return `(${id}, 'Account ${id}', ${(id * 37) % 5000}, '${at}')`;
    });
    const sf = await startSnowflake({
      seedData: {
        database: 'ANALYTICS',
        schema: 'CRM',
        sql: ['CREATE TABLE ACCOUNTS (ID NUMBER, NAME VARCHAR, EMPLOYEES NUMBER, UPDATED_AT TIMESTAMP_NTZ)', ...chunks(rows, 1000).map((c) => `INSERT INTO ACCOUNTS VALUES ${c.join(', ')}`)],
      },
      // 250-row pages (32 queries), a little latency each so the kill lands mid-extract.
      faults: 'latency:40@query-request',
    });
    cleanups.push(() => sf.stop());
    const { dir, dbFile } = project('ps-snow-kill-', [
      '  wh:',
      '    type: snowflake',
      '    account: emulator',
      '    username: PARTNERSYNC',
      '    password: ${SNOWFLAKE_PASSWORD}',
      '    database: ANALYTICS',
      '    schema: CRM',
      `    accessUrl: ${sf.url}`,
      '    batchSize: 250',
      '    streams:',
      '      accounts: { table: ACCOUNTS, primaryKey: [ID], cursorField: UPDATED_AT }',
    ]);
    const c: KillCase = { dir, dbFile, args: ['extract', 'wh', 'accounts'], env: { SNOWFLAKE_PASSWORD: 'partnersync' }, table: 'raw_wh__accounts', total };
    const { atKill, killedAtMs } = await killMidExtract(c);

    // Meanwhile a staged row changes (its cursor moves past every other row) and a row is added.
    const staged = query<{ id: string }>(dbFile, 'SELECT id FROM raw_wh__accounts ORDER BY CAST(id AS INTEGER) LIMIT 1')[0]!.id;
    sf.state.exec(`UPDATE ACCOUNTS SET NAME = 'Renamed while partnersync was down', UPDATED_AT = '2024-06-01 00:00:00.000' WHERE ID = ${Number(staged)}`);
    sf.state.exec(`INSERT INTO ACCOUNTS VALUES (${total + 1}, 'Created while partnersync was down', 1, '2024-06-01 00:00:01.000')`);
    const again = await rerun(c, 'wh/accounts');
    const shape = (r: Record<string, unknown>) => ({ id: text(r.id), name: text(r.name), employees: text(r.employees), updated_at: text(r.updated_at) });
    expectSameRows(
      query(dbFile, 'SELECT id, name, employees, updated_at FROM raw_wh__accounts').map(shape),
      sf.state.rows("SELECT ID, NAME, EMPLOYEES, TO_VARCHAR(UPDATED_AT, 'YYYY-MM-DD HH24:MI:SS.FF3') AS UPDATED_AT FROM ACCOUNTS").map((r) => shape(Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v])))),
      'id',
    );
    // Every row after the committed (UPDATED_AT, ID) once, plus the changed and the new row.
    expect(again.records).toBe(total - atKill + 2);
    report('snowflake', { total, atKill, rerunRecords: again.records, killedAtMs, rerunMs: again.ms });
  }, 60_000);
});

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}
