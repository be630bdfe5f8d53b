import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ConnectionConfig } from '../../src/connectors/config-schemas.js';
import { extractStreams } from '../../src/extract/extract-streams.js';
import { start as startCrossbeam, stableUuid } from '../../src/emulators/crossbeam/index.js';
import { start as startSalesforce, DEFAULT_CLIENT, DEFAULT_USER } from '../../src/emulators/salesforce/index.js';
import { start as startHubspot, DEFAULT_HUBSPOT_TOKEN } from '../../src/emulators/hubspot/index.js';
import { rawRows, stagingCase, startRun, tmpDir } from '../extract/helpers.js';

/**
 * The API sources through the real extract loop into SQLite staging: a first run stages every row,
 * a second run applies only the changes (updates and tombstones); and the real CLI killed with
 * SIGKILL mid-extract, then re-run, ends with exactly the source's rows.
 */
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function extractOnce(url: string, connection: string, rawConfig: Record<string, unknown>, streams: string[]) {
  const staging = await (await import('../../src/staging/db.js')).openStaging(url);
  try {
    const run = await startRun(staging);
    const summary = await extractStreams({ staging, run, connection, config: ConnectionConfig.parse(rawConfig), baseDir: process.cwd(), streams });
    await run.finish('succeeded', 0);
    const tables = Object.fromEntries(await Promise.all(streams.map(async (s) => [s, await rawRows(staging, `raw_${connection}__${s}`)] as const)));
    return { summary, tables };
  } finally {
    await staging.close();
  }
}

const live = (rows: Array<Record<string, unknown>>) => rows.filter((r) => Number(r._deleted) === 0);

describe('API sources through the extract loop (SQLite staging)', () => {
  it('crossbeam: overlaps staged, then only new/changed/deleted ones applied', async () => {
    const xb = await startCrossbeam();
    cleanups.push(() => xb.stop());
    const st = stagingCase('sqlite', 'xb');
    cleanups.push(() => st.cleanup());
    const cfg = { type: 'crossbeam', baseUrl: xb.url, organization: xb.orgUuid, clientId: xb.clientId, clientSecret: xb.clientSecret, pageSize: 2 };
    const first = await extractOnce(st.url, 'xb', cfg, ['overlaps_accounts', 'partners']);
    const accounts = () => xb.state.overlaps.filter((o) => o.partner_record_type === 'account');
    expect(live(first.tables.overlaps_accounts!).length).toBe(accounts().length);
    expect(first.tables.partners!.length).toBe(xb.state.partners.length);

    const [a, b] = accounts();
    xb.state.modifyOverlap(a!, { partner_record_name: 'Changed' });
    xb.state.deleteOverlap(b!);
    const second = await extractOnce(st.url, 'xb', cfg, ['overlaps_accounts']);
    const s = second.summary.streams[0]!;
    expect([s.records, s.updated, s.deleted, s.inserted]).toEqual([1, 1, 1, 0]);
    const rows = second.tables.overlaps_accounts!;
    expect(live(rows).length).toBe(accounts().length - 1);
    expect(rows.find((r) => r.crossbeam_record_id === a!.crossbeam_record_id && r.partner_crossbeam_record_id === a!.partner_crossbeam_record_id)?.partner_record_name).toBe('Changed');
    expect(Number(rows.find((r) => r.partner_crossbeam_record_id === b!.partner_crossbeam_record_id)?._deleted)).toBe(1);
  });

  it('salesforce: accounts staged, then changes and deletions applied', async () => {
    const sf = await startSalesforce({
      seedData: { Account: Array.from({ length: 30 }, (_, i) => ({ Name: `A${i}`, SystemModstamp: new Date(Date.parse('2024-01-01T00:00:00Z') + i * 1000).toISOString().replace('Z', '+0000') })) },
    });
    cleanups.push(() => sf.stop());
    const st = stagingCase('sqlite', 'sf');
    cleanups.push(() => st.cleanup());
    const cfg = { type: 'salesforce', loginUrl: sf.url, ...DEFAULT_CLIENT, username: DEFAULT_USER.username, password: DEFAULT_USER.password, queryBatchSize: 200, overlapMinutes: 0 };
    const first = await extractOnce(st.url, 'sf', cfg, ['accounts']);
    expect(live(first.tables.accounts!).length).toBe(30);
    const [a, b] = sf.state.list('Account');
    sf.state.update('Account', String(a!.Id), { Name: 'Renamed' });
    sf.state.remove('Account', String(b!.Id));
    const second = await extractOnce(st.url, 'sf', cfg, ['accounts']);
    const rows = second.tables.accounts!;
    // Raw columns are lower-cased (`Id` → `id`).
    expect(live(rows).map((r) => r.id).sort()).toEqual(sf.state.list('Account').map((r) => r.Id).sort());
    expect(rows.find((r) => r.id === a!.Id)?.name).toBe('Renamed');
    expect(second.summary.streams[0]!.deleted).toBe(1);
  });

  it('hubspot: companies staged, then changes and archived records applied', async () => {
    const hs = await startHubspot({ seedData: { companies: Array.from({ length: 30 }, (_, i) => ({ name: `Co ${i}` })) } });
    cleanups.push(() => hs.stop());
    const st = stagingCase('sqlite', 'hs');
    cleanups.push(() => st.cleanup());
    const cfg = { type: 'hubspot', baseUrl: hs.url, accessToken: DEFAULT_HUBSPOT_TOKEN, pageSize: 10, overlapMinutes: 0 };
    // The emulator keeps stamps strictly increasing, a few ms ahead of the clock after a bulk seed.
    await new Promise((r) => setTimeout(r, 60));
    const first = await extractOnce(st.url, 'hs', cfg, ['companies']);
    expect(live(first.tables.companies!).length).toBe(30);
    await new Promise((r) => setTimeout(r, 5));
    const [a, b] = hs.state.list('companies');
    hs.state.update('companies', a!, { name: 'Renamed' });
    hs.state.archive('companies', b!);
    const second = await extractOnce(st.url, 'hs', cfg, ['companies']);
    const s = second.summary.streams[0]!;
    expect([s.records, s.updated, s.deleted]).toEqual([1, 1, 1]);
    expect(second.tables.companies!.find((r) => r.id === a!.id)?.name).toBe('Renamed');
    expect(live(second.tables.companies!).length).toBe(29);
  });

  it('hubspot: an association removed in HubSpot is tombstoned by the next complete read of company_contacts', async () => {
    const hs = await startHubspot({
      seedData: {
        companies: Array.from({ length: 25 }, (_, i) => ({ id: String(101 + i), name: `Co ${i}` })),
        contacts: Array.from({ length: 25 }, (_, i) => ({ id: String(901 + i), email: `p${i}@co${i}.example` })),
        associations: Array.from({ length: 25 }, (_, i) => ({ from: { type: 'companies', id: String(101 + i) }, to: { type: 'contacts', id: String(901 + i) } })),
      },
    });
    cleanups.push(() => hs.stop());
    const st = stagingCase('sqlite', 'hsa');
    cleanups.push(() => st.cleanup());
    const cfg = { type: 'hubspot', baseUrl: hs.url, accessToken: DEFAULT_HUBSPOT_TOKEN, pageSize: 10, overlapMinutes: 0 };
    const pair = (r: Record<string, unknown>) => `${String(r.company_id)}>${String(r.contact_id)}`;
    const first = await extractOnce(st.url, 'hsa', cfg, ['company_contacts']);
    expect(live(first.tables.company_contacts!).map(pair)).toHaveLength(25);

    hs.state.unassociate('companies', '103', 'contacts', '903');
    hs.state.unassociate('companies', '124', 'contacts', '924');
    hs.state.associate('companies', '103', 'contacts', '904');
    const second = await extractOnce(st.url, 'hsa', cfg, ['company_contacts']);
    expect(second.summary.streams[0]).toMatchObject({ inserted: 1, deleted: 2 });
    const rows = second.tables.company_contacts!;
    expect(rows.filter((r) => Number(r._deleted) === 1).map(pair).sort()).toEqual(['103>903', '124>924']);
    expect(live(rows).map(pair)).toHaveLength(24);
    expect(live(rows).map(pair)).toContain('103>904');
  });
});

describe('kill -9 mid-extract of an API source, then re-run', () => {
  const repo = fileURLToPath(new URL('../../', import.meta.url));
  const bin = path.join(repo, 'bin', 'partnersync.js');

  it('crossbeam overlaps: the raw table ends with exactly the emulator\'s overlaps', async () => {
    // dist/ is built by test/global-setup.ts before any test file runs.
    expect(fs.existsSync(path.join(repo, 'dist', 'connectors', 'crossbeam', 'source.js'))).toBe(true);
    const total = 12_000;
    const records = Array.from({ length: 120 }, (_, i) => ({ record_id: `001K${i}`, crossbeam_record_id: stableUuid(`k${i}`), record_name: `K${i}` }));
    const xb = await startCrossbeam({
      seedData: {
        partners: [{ name: 'Only partner' }],
        records,
        overlaps: Array.from({ length: total }, (_, i) => ({ record_id: `001K${i % 120}`, partner_crossbeam_record_id: stableUuid(`pk${i}`) })),
      },
      rateLimit: { limit: 100_000, windowMs: 1000 },
      // Slow pages so the kill lands mid-extract.
      faults: 'latency:150@overlaps-accounts',
    });
    cleanups.push(() => xb.stop());
    const dir = tmpDir('ps-xb-kill-');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, 'partnersync.yaml'), [
      'version: 1',
      'staging:',
      '  url: sqlite:staging.db',
      'connections:',
      '  xb:',
      '    type: crossbeam',
      `    baseUrl: ${xb.url}`,
      `    organization: ${xb.orgUuid}`,
      `    clientId: ${xb.clientId}`,
      '    clientSecret: ${XB_SECRET}',
      '    pageSize: 500',
      '',
    ].join('\n'));
    const dbFile = path.join(dir, 'staging.db');
    const table = 'raw_xb__overlaps_accounts';
    const count = (): number => {
      if (!fs.existsSync(dbFile)) return 0;
      const db = new Database(dbFile, { readonly: true, fileMustExist: true });
      try {
        return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      } catch {
        return 0;
      } finally {
        db.close();
      }
    };
    const cli = () => spawn(process.execPath, [bin, 'extract', 'xb', 'overlaps_accounts'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1', XB_SECRET: xb.clientSecret } });
    const finish = (child: ReturnType<typeof cli>) => {
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
    };
    const child = cli();
    const done = finish(child);
    const deadline = Date.now() + 60_000;
    while (count() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');
    const atKill = count();
    expect(atKill).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(total);

    // Meanwhile the partner changes things: the re-run must pick those up too.
    const [first] = xb.state.overlaps;
    xb.state.deleteOverlap(first!);
    const again = await finish(cli());
    expect(again.stderr).not.toMatch(/Unexpected error/);
    expect(again.code).toBe(0);

    const db = new Database(dbFile, { readonly: true });
    try {
      const rows = db.prepare(`SELECT crossbeam_record_id, partner_crossbeam_record_id, _deleted FROM ${table}`).all() as Array<Record<string, unknown>>;
      const staged = rows.filter((r) => r._deleted === 0).map((r) => `${String(r.crossbeam_record_id)}|${String(r.partner_crossbeam_record_id)}`).sort();
      const source = xb.state.overlaps.filter((o) => !o.is_deleted).map((o) => `${o.crossbeam_record_id}|${o.partner_crossbeam_record_id}`).sort();
      expect(staged.length).toBe(total - 1);
      expect(staged).toEqual(source);
    } finally {
      db.close();
    }
  }, 240_000);
});
