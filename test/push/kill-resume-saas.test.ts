import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_HUBSPOT_TOKEN, start as startHubspot, type HubSpotEmulator } from '../../src/emulators/hubspot/index.js';
import { DEFAULT_INTERCOM_TOKEN, start as startIntercom, type IntercomEmulator } from '../../src/emulators/intercom/index.js';
import { DEFAULT_CLIENT, DEFAULT_USER, start as startSalesforce } from '../../src/emulators/salesforce/index.js';
import type { SalesforceState } from '../../src/emulators/salesforce/salesforce-state.js';
import type { Emulator } from '../../src/emulators/shared/types.js';
import { binPath, repoRoot, runCli } from '../helpers/cli.js';
import { confirmedInLedger as confirmedIn, model, setModel as setModelIn, type Row } from './kill-harness.js';

/**
 * kill -9 in the middle of `partnersync push` to Salesforce, HubSpot and Intercom (the emulators, the
 * real clients, the built CLI), then run it again: the destination ends equal to the model — every
 * row once, no duplicates — and the re-run sends only what the ledger had not confirmed. Then mirror
 * mode against Intercom: a model that lost more than `mirror.maxRemoveShare` of its rows makes the push
 * abort before its first write call.
 */

const N = 200;
const BATCH = 10;
/** Slow each write call so the kill lands while a push is well under way. */
const LATENCY_MS = 80;


let sf: Emulator<SalesforceState>;
let hs: HubSpotEmulator;
let ic: IntercomEmulator;
/** A second Intercom workspace for the mirror test, so its companies and the kill test's never mix. */
let icm: IntercomEmulator;
let dir: string;
let env: Record<string, string>;

const stagingFile = () => path.join(dir, 'staging.db');

const setModel = (table: string, rows: Row[]) => setModelIn(stagingFile(), table, rows);
const confirmedInLedger = (target: string) => confirmedIn(stagingFile(), target);

const sum = (emu: { calls(r: string): number }, routes: string[]) => routes.reduce((n, r) => n + emu.calls(r), 0);

interface Case {
  target: string;
  /** The route every write of this push goes through (where the latency is injected). */
  writeRoute: () => { emu: { faults: { set(s: string): void; clear(): void } }; route: string };
  /** Write calls the destination has answered so far (every write route, not only the expected one). */
  writes: () => number;
  /** Kill once this many write calls were answered: the ledger then holds at least one confirmed batch. */
  killAfter: number;
  /** Write calls a push of `records` records makes. */
  callsFor: (records: number) => number;
  /** What the destination holds for this target, one entry per record (duplicates stay visible). */
  records: () => Array<{ key: string; name: unknown; domain?: unknown; partner_count: unknown }>;
  expected: (r: Row) => { key: string; name: unknown; domain?: unknown; partner_count: unknown };
}

const batches = (records: number) => Math.ceil(records / BATCH);

const cases: Case[] = [
  {
    target: 'salesforce_accounts',
    writeRoute: () => ({ emu: sf, route: 'collections-upsert' }),
    writes: () => sum(sf, ['collections-create', 'collections-update', 'collections-upsert', 'collections-delete', 'sobject-create', 'sobject-update', 'sobject-upsert', 'bulk2-ingest-create']),
    killAfter: 3,
    callsFor: batches,
    records: () => sf.state.list('Account').map((a) => ({ key: String(a.Partnersync_Id__c), name: a.Name, domain: a.Website, partner_count: Number(a.Partner_Count__c) })),
    expected: (r) => ({ key: r.account_id, name: r.name, domain: r.domain, partner_count: r.partner_count }),
  },
  {
    target: 'hubspot_companies',
    writeRoute: () => ({ emu: hs, route: 'companies-batch-upsert' }),
    writes: () => sum(hs, ['companies-batch-upsert', 'companies-batch-create', 'companies-batch-update', 'companies-create', 'companies-update', 'companies-batch-archive']),
    killAfter: 3,
    callsFor: batches,
    records: () =>
      hs.state.list('companies').map((c) => ({ key: String(c.properties.partnersync_account_id), name: c.properties.name, domain: c.properties.domain, partner_count: Number(c.properties.partner_count) })),
    expected: (r) => ({ key: r.account_id, name: r.name, domain: r.domain, partner_count: r.partner_count }),
  },
  {
    target: 'intercom_companies',
    writeRoute: () => ({ emu: ic, route: 'companies-create-or-update' }),
    writes: () => sum(ic, ['companies-create-or-update', 'companies-update', 'companies-delete']),
    // Intercom has no batch API: one request per record, so 25 requests = two whole batches and some.
    killAfter: 25,
    callsFor: (records) => records,
    records: () => [...ic.state.companies.values()].map((c) => ({ key: String(c.company_id), name: c.name, domain: c.website, partner_count: c.custom_attributes.partner_count })),
    expected: (r) => ({ key: r.account_id, name: r.name, domain: r.domain, partner_count: r.partner_count }),
  },
];

const byKey = <T extends { key: string }>(xs: T[]) => [...xs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

beforeAll(async () => {
  // dist/ is built by test/global-setup.ts before any test file runs.
  expect(fs.existsSync(path.join(repoRoot, 'dist/commands/push.js'))).toBe(true);
  sf = await startSalesforce({
    seedData: {
      fields: {
        Account: [
          { name: 'Partnersync_Id__c', type: 'string', externalId: true, unique: true, length: 40 },
          { name: 'Partner_Count__c', type: 'double' },
        ],
      },
    },
  });
  hs = await startHubspot({
    rateLimit: { max: 100_000, intervalMs: 1000 },
    seedData: {
      properties: {
        companies: [
          { name: 'partnersync_account_id', type: 'string', fieldType: 'text', hasUniqueValue: true, groupName: 'companyinformation', label: 'Account id' },
          { name: 'partner_count', type: 'number', fieldType: 'number', groupName: 'companyinformation', label: 'Partners' },
        ],
      },
    },
  });
  const intercomSeed = { dataAttributes: [{ name: 'partner_count', model: 'company' as const, data_type: 'integer' as const }] };
  ic = await startIntercom({ rateLimit: { limit: 100_000, windowMs: 10_000 }, seedData: intercomSeed });
  icm = await startIntercom({ rateLimit: { limit: 100_000, windowMs: 10_000 }, seedData: intercomSeed });

  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partnersync-push-kill-saas-'));
  const fields = { name: 'name', partner_count: { source: 'partner_count', type: 'number' } };
  const target = (connection: string, object: string, key: string, extra: Record<string, unknown> = {}) => ({
    connection,
    model: 'accounts',
    object,
    key: { source: 'account_id', destination: key },
    batchSize: BATCH,
    ...extra,
  });
  const config = {
    staging: { url: 'sqlite:staging.db' },
    connections: {
      salesforce: { type: 'salesforce', loginUrl: sf.url, clientId: DEFAULT_CLIENT.clientId, clientSecret: '${SF_CLIENT_SECRET}', username: DEFAULT_USER.username, password: '${SF_PASSWORD}', maxRetries: 2 },
      hubspot: { type: 'hubspot', baseUrl: hs.url, accessToken: '${HUBSPOT_TOKEN}', requestsPerTenSeconds: 10_000, maxRetries: 2 },
      intercom: { type: 'intercom', baseUrl: ic.url, accessToken: '${INTERCOM_TOKEN}', requestsPerTenSeconds: 10_000, maxRetries: 2 },
      intercom_mirror: { type: 'intercom', baseUrl: icm.url, accessToken: '${INTERCOM_TOKEN}', requestsPerTenSeconds: 10_000, maxRetries: 2 },
    },
    targets: {
      salesforce_accounts: target('salesforce', 'Account', 'Partnersync_Id__c', { fields: { Name: 'name', Website: 'domain', Partner_Count__c: { source: 'partner_count', type: 'number' } } }),
      hubspot_companies: target('hubspot', 'companies', 'partnersync_account_id', { fields: { ...fields, domain: 'domain' } }),
      intercom_companies: target('intercom', 'companies', 'company_id', { fields: { ...fields, website: 'domain' } }),
      intercom_mirror: { ...target('intercom_mirror', 'companies', 'company_id', { fields: { ...fields, website: 'domain' } }), model: 'mirror_accounts', mode: 'mirror', mirror: { maxRemoveShare: 0.2 } },
    },
  };
  fs.writeFileSync(path.join(dir, 'partnersync.yaml'), stringify(config));
  env = { SF_CLIENT_SECRET: DEFAULT_CLIENT.clientSecret, SF_PASSWORD: DEFAULT_USER.password, HUBSPOT_TOKEN: DEFAULT_HUBSPOT_TOKEN, INTERCOM_TOKEN: DEFAULT_INTERCOM_TOKEN };
  setModel('accounts', model(N));
}, 60_000);

afterAll(async () => {
  await Promise.all([sf?.stop(), hs?.stop(), ic?.stop(), icm?.stop()]);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const push = (args: string[]) => runCli(['push', ...args], { cwd: dir, env, timeoutMs: 60_000 });

describe('push to a SaaS destination after kill -9', () => {
  it.each(cases)('$target: the re-run sends only what was not confirmed and ends equal to the model', async (c) => {
    const { emu, route } = c.writeRoute();
    emu.faults.set(`latency:${LATENCY_MS}@${route}`);
    const writesBefore = c.writes();
    const child = spawn(process.execPath, [binPath, 'push', '--target', c.target], { cwd: dir, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + 30_000;
    while (c.writes() - writesBefore < c.killAfter) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`push ended or stalled before the kill (${c.writes() - writesBefore} write calls): ${stderr}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');
    emu.faults.clear();
    // A request already in the emulator when the process died still completes there; let it.
    await new Promise((r) => setTimeout(r, LATENCY_MS * 3));

    const confirmed = confirmedInLedger(c.target);
    const landed = new Set(c.records().map((r) => r.key)).size;
    expect(confirmed).toBeGreaterThanOrEqual(2 * BATCH);
    expect(confirmed).toBeLessThan(N);
    // The ledger never claims more than landed; at most the batch in flight landed unconfirmed.
    expect(landed).toBeGreaterThanOrEqual(confirmed);
    expect(landed - confirmed).toBeLessThanOrEqual(BATCH);

    const writesAtRerun = c.writes();
    const second = await push(['--target', c.target, '--json']);
    expect(second.stderr).toMatch(/took over a stale staging lock/);
    expect(second.code, second.stderr).toBe(0);
    const report = JSON.parse(second.stdout).targets[0];
    expect(report.counts).toMatchObject({ considered: N, unchanged: confirmed, sent: N - confirmed, invalid: 0, rejected: 0, skipped: 0 });
    // Nothing confirmed was resent: the re-run's write calls are those of the unconfirmed records.
    expect(c.writes() - writesAtRerun).toBe(c.callsFor(N - confirmed));

    // Equal to the model: every row exactly once with its values, and nothing else.
    expect(byKey(c.records())).toEqual(byKey(model(N).map(c.expected)));

    // And now settled: a third run writes nothing.
    const writesAtThird = c.writes();
    const third = await push(['--target', c.target, '--json']);
    expect(third.code, third.stderr).toBe(0);
    expect(JSON.parse(third.stdout).targets[0].counts).toMatchObject({ unchanged: N, sent: 0 });
    expect(c.writes()).toBe(writesAtThird);

    // --full-resync ignores the ledger: every record is sent again (once), and still nothing is duplicated.
    const full = await push(['--target', c.target, '--json', '--full-resync']);
    expect(full.code, full.stderr).toBe(0);
    expect(JSON.parse(full.stdout).targets[0].counts).toMatchObject({ considered: N, unchanged: 0, sent: N });
    expect(c.writes() - writesAtThird).toBe(c.callsFor(N));
    expect(byKey(c.records())).toEqual(byKey(model(N).map(c.expected)));
  }, 60_000);
});

describe('mirror mode against Intercom', () => {
  const companyWrites = () => sum(icm, ['companies-create-or-update', 'companies-update', 'companies-delete']);
  const held = () => byKey([...icm.state.companies.values()].map((c) => ({ key: String(c.company_id), name: c.name, partner_count: c.custom_attributes.partner_count })));
  const want = (rows: Row[]) => byKey(rows.map((r) => ({ key: r.account_id, name: r.name, partner_count: r.partner_count })));

  it('aborts before any write call when the model lost more than maxRemoveShare of the rows, and removes within it', async () => {
    const rows = model(20);
    setModel('mirror_accounts', rows);
    const first = await push(['--target', 'intercom_mirror']);
    expect(first.code, first.stderr).toBe(0);
    expect(held()).toEqual(want(rows));

    // 6 of 20 rows gone (30% > 20%), and one kept row changed: not even the update may go out.
    const shrunk = rows.slice(0, 14).map((r, i) => (i === 0 ? { ...r, name: 'Renamed' } : r));
    setModel('mirror_accounts', shrunk);
    const before = companyWrites();
    const aborted = await push(['--target', 'intercom_mirror', '--json']);
    expect(aborted.code).not.toBe(0);
    const doc = JSON.parse(aborted.stdout);
    expect(doc.error.code).toBe('MIRROR_SAFETY_LIMIT');
    expect(doc.error.message).toMatch(/mirror would remove 6 of the 20 records partnersync wrote \(30\.0%\), over the safety limit of 20\.0%; nothing was sent/);
    expect(companyWrites()).toBe(before);
    expect(held()).toEqual(want(rows));

    // The human form names the limit too (no --json).
    const human = await push(['--target', 'intercom_mirror']);
    expect(human.code).not.toBe(0);
    expect(human.stderr).toMatch(/over the safety limit of 20\.0%/);
    expect(human.stderr).toMatch(/mirror\.maxRemoveShare/);
    expect(companyWrites()).toBe(before);

    // 3 of 20 (15%) is within the limit: those three are deleted, the rename lands, the rest stay.
    const within = rows.slice(0, 17).map((r, i) => (i === 0 ? { ...r, name: 'Renamed' } : r));
    setModel('mirror_accounts', within);
    const ok = await push(['--target', 'intercom_mirror', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).targets[0].counts).toMatchObject({ considered: 20, unchanged: 16, deleted: 3, updated: 1, sent: 4 });
    expect(held()).toEqual(want(within));
    expect(icm.calls('companies-delete')).toBe(3);
  }, 60_000);
});
